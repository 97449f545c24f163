import { describe, expect, it } from 'vitest';
import { messageText } from '../../server/proctoring/index.js';
import { ChatBudget } from '../../server/realtime/chat-budget.js';

describe('chat text', () => {
  it.each([
    ['keeps newlines, tabs, markup and emoji', 'a\n\tb <i>c</i> 👋', 'a\n\tb <i>c</i> 👋'],
    ['trims', '  hi  ', 'hi'],
    ['takes 2,000 characters', 'x'.repeat(2000), 'x'.repeat(2000)],
  ])('%s', (_name, input, stored) => {
    expect(messageText.parse(input)).toBe(stored);
  });

  it.each([
    ['empty', ''],
    ['blank', ' \n\t '],
    ['too long', 'x'.repeat(2001)],
    ['a bell', 'a\u0007'],
    ['a carriage return', 'a\rb'],
    ['DEL', 'a\u007f'],
    ['a C1 control', 'a\u0085'],
    ['a lone high surrogate', 'a\ud83d'],
    ['a lone low surrogate', '\udc4b b'],
  ])('refuses %s', (_name, input) => {
    expect(messageText.safeParse(input).success).toBe(false);
  });
});

describe('chat budget', () => {
  it('allows a burst of 5, then one every 2 s, per key', () => {
    const budget = new ChatBudget();
    for (let i = 0; i < 5; i++) budget.take('a', 0);
    expect(() => budget.take('a', 0)).toThrow(expect.objectContaining({ code: 'rate_limited' }));
    budget.take('b', 0); // another sender is not held back
    expect(() => budget.take('a', 1_000)).toThrow();
    budget.take('a', 2_100);
    expect(() => budget.take('a', 2_200)).toThrow();
  });
});
