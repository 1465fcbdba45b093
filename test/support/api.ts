import { TEST_TOKEN } from './service';

export interface ApiResponse {
  status: number;
  /** The parsed body (the suites read it loosely). */
  json: any;
}

/** Calls the service's HTTP API with the test token: `api('POST', '/api/claims/build', {...})`. */
export function apiOf(port: () => number): (method: string, path: string, body?: unknown) => Promise<ApiResponse> {
  return async (method, path, body) => {
    const res = await fetch(`http://127.0.0.1:${port()}${path}`, {
      method, headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? null : JSON.parse(text) };
  };
}
