export interface HttpAnswer {
  status: number;
  contentType: string;
  body: unknown;
}

/** GETs a path of the service; a body that is not JSON is kept as text, for the report. */
export async function httpGet(base: string, path: string, timeoutMs = 10_000): Promise<HttpAnswer> {
  const response = await fetch(new URL(path, base), { signal: AbortSignal.timeout(timeoutMs) });
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the report shows the text
  }
  return { status: response.status, contentType, body };
}

export const describeAnswer = (answer: HttpAnswer) =>
  `${answer.status} ${answer.contentType || '(no content type)'} ${JSON.stringify(answer.body).slice(0, 160)}`;
