// What each role may do in the console (the server enforces the same rules).
import type { Role } from '../api/types';

export const can = {
  upload: (r: Role) => r === 'author' || r === 'admin',
  requestGrant: (r: Role) => r === 'author' || r === 'admin',
  decideGrant: (r: Role) => r === 'admin',
  operate: (r: Role) => r === 'operator' || r === 'admin',
  readEvents: (r: Role) => r !== 'author',
  readJobs: (r: Role) => r !== 'author',
  readAudit: (r: Role) => r === 'auditor' || r === 'admin',
};
