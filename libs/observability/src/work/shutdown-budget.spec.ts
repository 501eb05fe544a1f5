import { ShutdownBudget } from './shutdown-budget';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ShutdownBudget', () => {
  it('has infinite time left before the sequence began', () => {
    expect(new ShutdownBudget().remainingMs()).toBe(Number.POSITIVE_INFINITY);
  });

  it('counts down from the timeout once begun', async () => {
    const budget = new ShutdownBudget();
    budget.begin(1_000);
    const first = budget.remainingMs();
    expect(first).toBeLessThanOrEqual(1_000);
    expect(first).toBeGreaterThan(900);
    await sleep(30);
    const later = budget.remainingMs();
    expect(first - later).toBeGreaterThanOrEqual(20);
  });

  it('keeps the first deadline: a later begin() neither extends nor shortens it', () => {
    const budget = new ShutdownBudget();
    budget.begin(500);
    budget.begin(60_000);
    expect(budget.remainingMs()).toBeLessThanOrEqual(500);
    const other = new ShutdownBudget();
    other.begin(60_000);
    other.begin(10);
    expect(other.remainingMs()).toBeGreaterThan(59_000);
  });

  it('never goes below zero once the deadline passed', async () => {
    const budget = new ShutdownBudget();
    budget.begin(5);
    await sleep(25);
    expect(budget.remainingMs()).toBe(0);
    const none = new ShutdownBudget();
    none.begin(0);
    expect(none.remainingMs()).toBe(0);
  });
});
