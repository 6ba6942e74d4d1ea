// Roles are ordered; the stream's snapshot tells which one this token has.
const RANK = { viewer: 0, dispatcher: 1, operator: 2, admin: 3 };
let current = 'viewer';

export const setRole = (r) => { current = r in RANK ? r : 'viewer'; };
export const role = () => current;
/** True when the session may do what `needed` may do. */
export const can = (needed) => RANK[current] >= RANK[needed];
