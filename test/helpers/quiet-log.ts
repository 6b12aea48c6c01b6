// A Logger that drops every line: for tracker and timer tests that need one but judge what is reported.
import { type Logger, withHolding } from '../../src/common/logger.js';

export const quietLog: Logger = withHolding(
  () => {},
  false,
  () => {},
);
