/**
 * The chart's alert rules, exactly as the PrometheusRule renders them, pass `promtool check
 * rules` and the unit tests in alerts.test.yaml (each alert fires on its failure and stays quiet
 * on a healthy system), and carry the seeds' alert names.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { CHART, find, parseManifest, renderChart, sh, tool } from "./chart-kit.ts";

/** The seeds' chart (chart/templates/prometheusrules.yaml) named these. */
const SEED_ALERTS = [
  "StreamSpaceControllerDown",
  "StreamSpaceHighSessionCount",
  "StreamSpaceSessionCreationFailures",
  "StreamSpaceHibernationFailures",
  "StreamSpaceHighReconciliationDuration",
  "StreamSpaceAPIDown",
  "StreamSpaceAPIHighErrorRate",
  "StreamSpaceAPIHighLatency",
  "StreamSpaceDatabaseConnectionFailed",
  "StreamSpacePostgreSQLDown",
  "StreamSpacePostgreSQLHighConnections",
];

describe("alert rules", () => {
  let dir = "";
  let groups: { name: string; rules: { alert: string }[] }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "ss-alerts-"));
    const objs = parseManifest(
      await renderChart("streamspace", [
        "-f",
        join(CHART, "values-ha.yaml"),
        "--set",
        "metrics.prometheusRule.postgresExporterJob=postgres-exporter",
      ]),
    );
    groups = find(objs, "PrometheusRule", "streamspace").spec.groups;
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups }));
    copyFileSync(new URL("./alerts.test.yaml", import.meta.url), join(dir, "alerts.test.yaml"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("carry every alert name of the seeds", () => {
    const names = groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const a of SEED_ALERTS) assert.ok(names.includes(a), `${a} is missing`);
  });

  test("promtool check rules", async () => {
    const out = await sh(tool("promtool"), ["check", "rules", join(dir, "rules.yaml")]);
    assert.match(out, /SUCCESS: 12 rules found/);
  });

  test("promtool test rules: each alert fires on its failure, none on a healthy system", async () => {
    const out = await sh(tool("promtool"), ["test", "rules", "alerts.test.yaml"], {
      cwd: dir,
    });
    assert.match(out, /SUCCESS/);
  });

  test("a rule test that expects the wrong thing fails (promtool really evaluates)", async () => {
    writeFileSync(
      join(dir, "wrong.test.yaml"),
      stringify({
        rule_files: ["rules.yaml"],
        tests: [
          {
            interval: "1m",
            input_series: [{ series: 'up{job="streamspace-api", instance="a"}', values: "1x10" }],
            alert_rule_test: [
              {
                eval_time: "8m",
                alertname: "StreamSpaceAPIDown",
                exp_alerts: [{ exp_labels: { severity: "critical", component: "api" } }],
              },
            ],
          },
        ],
      }),
    );
    await assert.rejects(
      sh(tool("promtool"), ["test", "rules", "wrong.test.yaml"], { cwd: dir }),
      /FAILED/,
    );
  });
});
