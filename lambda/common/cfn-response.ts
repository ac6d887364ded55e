import * as http from 'node:http';
import * as https from 'node:https';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

/** The response CloudFormation waits for from a custom resource provider. */
export interface CloudFormationResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Sends a response to the pre-signed URL CloudFormation gave. */
export type Responder = (url: string, response: CloudFormationResponse) => Promise<void>;

/**
 * PUTs the response, as CloudFormation expects (no content type). CloudFormation's response URLs
 * are https; a plain http URL is accepted for local runs (the lab collects responses that way).
 */
export const putResponse: Responder = (url, response) => new Promise((resolve, reject) => {
  const body = JSON.stringify(response);
  const request = url.startsWith('http:') ? http.request : https.request;
  const req = request(url, { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } }, (res) => {
    res.resume();
    res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`CloudFormation answered ${res.statusCode}`))));
  });
  req.on('error', reject);
  req.end(body);
});

/** Physical id prefix of a Create that failed: its Delete must not touch what it did not create. */
export const FAILED_CREATE_ID = 'failed-create';

/** What a provider's logic reports back to CloudFormation. */
export interface ResourceResult {
  readonly physicalResourceId: string;
  readonly data?: Record<string, string>;
}

/**
 * Runs a provider's logic for one event and always answers CloudFormation, so a failure never
 * leaves the stack waiting. A failure's message becomes the reason (its first 1000 characters:
 * CloudFormation keeps at most 4 KiB of a response).
 */
export async function answer(
  event: CloudFormationCustomResourceEvent,
  respond: Responder,
  run: () => Promise<ResourceResult>,
  log: { error(message: string, extra: Record<string, unknown>): void },
): Promise<CloudFormationResponse> {
  const base = { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId };
  let response: CloudFormationResponse;
  try {
    const result = await run();
    response = { ...base, Status: 'SUCCESS', PhysicalResourceId: result.physicalResourceId, ...(result.data ? { Data: result.data } : {}) };
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    log.error(`${event.ResourceType} failed`, { requestType: event.RequestType, error: message });
    const physical = event.RequestType === 'Create' ? `${FAILED_CREATE_ID}-${event.RequestId}` : event.PhysicalResourceId;
    response = { ...base, Status: 'FAILED', Reason: message.slice(0, 1000), PhysicalResourceId: physical };
  }
  await respond(event.ResponseURL, response);
  return response;
}
