import { CardinalityGuard } from './cardinality-guard';

function guardWithLog(limit: number) {
  const overflows: string[] = [];
  const warnings: [string, number][] = [];
  const guard = new CardinalityGuard(
    limit,
    (metric) => overflows.push(metric),
    (metric, cap) => warnings.push([metric, cap]),
  );
  return { guard, overflows, warnings };
}

describe('CardinalityGuard', () => {
  it('admits new label sets up to the limit, then refuses new ones', () => {
    const { guard } = guardWithLog(2);
    expect(['a', 'b', 'c', 'd'].map((key) => guard.admit('m', key))).toEqual([true, true, false, false]);
    expect(guard.size('m')).toBe(2);
  });

  it('always admits a label set seen before, also past the limit', () => {
    const { guard } = guardWithLog(2);
    guard.admit('m', 'a');
    guard.admit('m', 'b');
    guard.admit('m', 'c');
    expect([guard.admit('m', 'a'), guard.admit('m', 'b'), guard.admit('m', 'a')]).toEqual([true, true, true]);
  });

  it('counts label sets per metric', () => {
    const { guard } = guardWithLog(1);
    expect([guard.admit('first', 'x'), guard.admit('second', 'x'), guard.admit('second', 'y')]).toEqual([true, true, false]);
    expect({ first: guard.size('first'), second: guard.size('second'), unknown: guard.size('never') }).toEqual({
      first: 1,
      second: 1,
      unknown: 0,
    });
  });

  it('reports every refusal, and warns once per metric with the limit', () => {
    const { guard, overflows, warnings } = guardWithLog(1);
    guard.admit('m', 'a');
    guard.admit('m', 'b');
    guard.admit('m', 'c');
    guard.admit('m', 'b');
    guard.admit('n', 'a');
    guard.admit('n', 'b');
    expect(overflows).toEqual(['m', 'm', 'm', 'n']);
    expect(warnings).toEqual([
      ['m', 1],
      ['n', 1],
    ]);
  });

  it('reports nothing while label sets fit', () => {
    const { guard, overflows, warnings } = guardWithLog(3);
    for (const key of ['a', 'b', 'c', 'a', 'b', 'c']) guard.admit('m', key);
    expect({ overflows, warnings }).toEqual({ overflows: [], warnings: [] });
  });
});
