import * as http from 'http';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { nameSocketErrors } from '../../lambda/common/clients';

const base = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 2 };

// No aws-sdk-client-mock here: the clients send their requests.
describe('SDK clients on a bad connection', () => {
  it('a request that hangs fails as TimeoutError after the SDK retries', async () => {
    let requests = 0;
    const server = http.createServer(() => {
      requests++; // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const client = nameSocketErrors(new CloudWatchClient({
      ...base,
      endpoint: `http://127.0.0.1:${port}`,
      requestHandler: { connectionTimeout: 500, requestTimeout: 300, throwOnRequestTimeout: true },
    }));
    try {
      await expect(client.send(new DescribeAlarmsCommand({}))).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(requests).toBe(2);
    } finally {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  // The Node.js handler itself names ECONNRESET, EPIPE and ETIMEDOUT errors TimeoutError; the
  // others reach the handler as a plain Error with a code, which nameSocketErrors names.
  it.each(['ECONNREFUSED', 'EHOSTUNREACH', 'EAI_AGAIN'])('a socket error %s is named after its code after the SDK retries', async (code) => {
    let attempts = 0;
    const client = nameSocketErrors(new CloudWatchClient({
      ...base,
      endpoint: 'http://127.0.0.1:9',
      requestHandler: {
        handle: async () => {
          attempts++;
          throw Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });
        },
      } as any,
    }));
    await expect(client.send(new DescribeAlarmsCommand({}))).rejects.toMatchObject({ name: code, code });
    expect(attempts).toBe(2);
  });

  it('leaves other errors as they are', async () => {
    const client = nameSocketErrors(new CloudWatchClient({
      ...base,
      endpoint: 'http://127.0.0.1:9',
      requestHandler: { handle: async () => { throw Object.assign(new Error('no'), { code: 'EACCES' }); } } as any,
    }));
    await expect(client.send(new DescribeAlarmsCommand({}))).rejects.toMatchObject({ name: 'Error', code: 'EACCES' });
  });
});
