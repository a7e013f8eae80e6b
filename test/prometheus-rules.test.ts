import t from 'tap';
import { prometheusMissing, promtool, RULES_FILE, RULES_TEST_FILE } from './helpers/prometheus.ts';

t.test('the shipped alert rules are valid and pass their promtool unit tests', { skip: prometheusMissing() }, async (t) => {
  const check = promtool(['check', 'rules', RULES_FILE]);
  t.equal(check.code, 0, check.output);
  t.match(check.output, /SUCCESS: \d+ rules found/);
  const tested = promtool(['test', 'rules', RULES_TEST_FILE]);
  t.equal(tested.code, 0, tested.output);
  t.match(tested.output, /SUCCESS/);
});
