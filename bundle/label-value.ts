/**
 * A label value the bundle writes between double quotes in PromQL and matchers (`job="..."`, `team="..."`) and in
 * YAML plain scalars: keep to the characters of a Kubernetes Service name and the usual job and team names, so no
 * quoting or escaping is ever needed.
 */
export const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
