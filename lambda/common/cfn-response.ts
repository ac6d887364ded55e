import * as http from 'node:http';
import * as https from 'node:https';

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
