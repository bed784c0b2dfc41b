// Numbered, forward-only migrations. Add a file NNNN_name.ts and list it here; never edit one
// that has shipped.
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_job_model.js';
import * as m0003 from './0003_gpus_nodes.js';
import * as m0004 from './0004_events.js';
import * as m0005 from './0005_attempt_usage.js';
import * as m0006 from './0006_metrics.js';
import * as m0007 from './0007_states.js';

export const migrations = {
  '0001_initial': m0001,
  '0002_job_model': m0002,
  '0003_gpus_nodes': m0003,
  '0004_events': m0004,
  '0005_attempt_usage': m0005,
  '0006_metrics': m0006,
  '0007_states': m0007,
};
