/** The receive-policy error type: area "policy", codes POLICY_* (spec/errors.json). */
import { OstreePushError } from '../errors.js';

export class PolicyError extends OstreePushError {}
