// Role rules: roles imply lesser ones (admin holds every role; operator and approver each hold
// viewer), and who may run what a command's access asks for. A leaf module: it knows people's roles
// only, so the pipeline, the approval desk and commands can all use it without importing each other.
import type { Access, Principal, Role } from '../types.ts';

/** Which roles grant each role. */
const GRANTED_BY: Record<Role, readonly Role[]> = {
  viewer: ['viewer', 'operator', 'approver', 'admin'],
  operator: ['operator', 'admin'],
  approver: ['approver', 'admin'],
  admin: ['admin'],
};

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.some((held) => GRANTED_BY[role].includes(held));
}

export function mayRun(principal: Principal, access: Access): boolean {
  if (access === 'anyone') return true;
  if (!principal.known) return false;
  if (access === 'known') return true;
  return hasRole(principal, access);
}
