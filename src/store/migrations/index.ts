// Numbered, forward-only migrations. Add a file NNNN_name.ts and list it here; never edit one
// that has shipped.
import * as m0001 from './0001_initial.js';

export const migrations = {
  '0001_initial': m0001,
};
