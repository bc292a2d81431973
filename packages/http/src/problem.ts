/** One field-level validation error, as the contract's `errors[]` shows it. */
export interface FieldError {
  path: string;
  message: string;
}

/** The RFC 9457 problem kinds this platform answers with; the table is checked by the compiler. */
export const PROBLEM_KINDS = {
  bad_request: { status: 400, title: 'Bad Request' },
  validation: { status: 400, title: 'Validation failed' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not Found' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload Too Large' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type' },
  headers_too_large: { status: 431, title: 'Request Header Fields Too Large' },
  rate_limited: { status: 429, title: 'Too Many Requests' },
  internal: { status: 500, title: 'Internal Server Error' },
  unavailable: { status: 503, title: 'Service Unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemKind = keyof typeof PROBLEM_KINDS;

/** An error that becomes an `application/problem+json` response. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly errors?: FieldError[],
    options?: { cause?: unknown },
  ) {
    super(detail, options);
    this.name = 'HttpProblem';
    this.status = PROBLEM_KINDS[kind].status;
    this.title = PROBLEM_KINDS[kind].title;
  }

  /** The response body. `type` is a stable URN per kind, so clients can switch on it. */
  toJSON(): Record<string, unknown> {
    return {
      type: `urn:crm:problem:${this.kind.replaceAll('_', '-')}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export const notFound = (what: string, id: number | string) => new HttpProblem('not_found', `${what} ${id} does not exist`);
