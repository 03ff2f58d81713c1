// The virtual module scripts/build-web.mjs generates: the fixture files the
// playground bundles (samples, the bundled kernel's sources), by their path
// in the repository ("fixtures/guests/hello.s", "fixtures/kernel/user/crt0.s").
declare module "previrt-web:fixtures" {
  export const FIXTURES: Readonly<Record<string, string>>;
}
