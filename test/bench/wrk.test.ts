/** Reading wrk's `--latency` report, which the HTTP benchmark's throughput figures come from. */
import { describe, expect, it } from "vitest";
import { microseconds, parseWrk } from "../../scripts/lib/wrk";

const REPORT = `Running 3s test @ http://127.0.0.1:41521/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.03ms  412.00us   9.81ms   88.47%
    Req/Sec     7.92k     2.54k   10.98k    61.29%
  Latency Distribution
     50%  665.00us
     75%    2.29ms
     90%   26.94ms
     99%    1.20s
  24432 requests in 3.10s, 2.05MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   7881.25
Transfer/sec:    677.29KB
`;

describe("wrk report", () => {
  it.each([
    ["245.12us", 245.12],
    ["1.03ms", 1030],
    ["2.00s", 2_000_000],
  ])("reads the latency %s as %d µs", (text, us) => {
    expect(microseconds(text)).toBeCloseTo(us, 6);
  });

  it("refuses a latency it cannot read", () => {
    expect(() => microseconds("fast")).toThrow(/cannot read latency/);
  });

  it("reads throughput, percentiles, the request count and every kind of error", () => {
    expect(parseWrk(REPORT)).toEqual({
      requests: 24432,
      errors: 7,
      rps: 7881.25,
      p50us: 665,
      p99us: 1_200_000,
      meanus: 1030,
    });
  });

  it("counts no errors when wrk reports none", () => {
    const clean = REPORT.replace(/ {2}Socket errors.*\n {2}Non-2xx.*\n/, "");
    expect(parseWrk(clean).errors).toBe(0);
  });

  it("refuses output that is not a wrk report", () => {
    expect(() => parseWrk("wrk: connection refused")).toThrow(/unexpected output/);
  });
});
