/**
 * Why `mlwatch init` stops: a message for the user (what is wrong and the flag or step that fixes it), printed
 * without a stack trace, exit code 1, nothing written.
 */
export class Refused extends Error {}
