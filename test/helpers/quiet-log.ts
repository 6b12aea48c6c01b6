// A Logger that drops every line: for tracker and timer tests that need one but judge what is reported.
import { type Logger, withHolding } from '../../src/daemon/logger.js';

export const quietLog: Logger = withHolding(
  () => {},
  false,
  () => {},
);
