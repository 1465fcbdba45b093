// Lints an OpenAPI document (the JSON file named by the first argument) with Redocly's
// `recommended` rules and prints the problems as one JSON array. A script of its own because the
// linter is an ES module only, which Jest's CommonJS runtime cannot load; test/openapi.int-spec.ts runs it.
import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';

const file = process.argv[2];
const config = await createConfig({ extends: ['recommended'] });
const problems = await lintFromString({ source: readFileSync(file, 'utf8'), absoluteRef: file, config });
process.stdout.write(JSON.stringify(problems.map((p) => ({ rule: p.ruleId, severity: p.severity, message: p.message, at: p.location?.[0]?.pointer }))));
