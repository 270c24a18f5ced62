import { describe, expect, it } from 'vitest';
import { optedOutPerEngine } from '../../src/automation/engine-opt-out';

describe('optedOutPerEngine', () => {
  it('blocks marketing e-mail to a customer the engine knows unsubscribed, even before the suppression list has it', () => {
    expect(optedOutPerEngine({ indicators: { unsubscribed: 1 } }, 'email', false)).toBe(true);
  });
  it('lets transactional messages, other channels and subscribed customers through', () => {
    expect(optedOutPerEngine({ indicators: { unsubscribed: 1 } }, 'email', true)).toBe(false);
    expect(optedOutPerEngine({ indicators: { unsubscribed: 1 } }, 'task', false)).toBe(false);
    expect(optedOutPerEngine({ indicators: { unsubscribed: 0 } }, 'email', false)).toBe(false);
    expect(optedOutPerEngine({ indicators: {} }, 'email', false)).toBe(false);
  });
});
