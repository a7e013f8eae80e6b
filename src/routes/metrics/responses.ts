import { problemResponse } from '../../schemas/problem.ts';

/** The problem answers every metrics route shares, declared once for the spec. */
export const badRequest = problemResponse('Bad input: the detail names the parameter');
export const unknownWorker = problemResponse('The worker has never been seen');
export const unavailable = problemResponse('Database unreachable or overloaded (with Retry-After)');
export const timeout = problemResponse('The query exceeded its time limit');

export const DEFAULT_HOURS = 24;
