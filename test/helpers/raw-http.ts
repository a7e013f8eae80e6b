import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A TCP connection to the service that sends bytes as given and reads answers as they come. */
export interface RawConnection {
  socket: net.Socket;
  /** Resolves with the next complete response (headers, then Content-Length bytes of body). */
  next(): Promise<RawResponse>;
  /** Resolves once the server has closed the connection. */
  closed: Promise<void>;
}

export async function connect(port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {}); // a reset shows as an unanswered next()
  let buffered = Buffer.alloc(0);
  const waiting: ((response: RawResponse | Error) => void)[] = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

  const take = () => {
    while (waiting.length > 0) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length'] ?? 0);
      if (buffered.length < end + 4 + length) return;
      const body = buffered.subarray(end + 4, end + 4 + length).toString('utf8');
      buffered = buffered.subarray(end + 4 + length);
      waiting.shift()!({ status: Number(statusLine!.split(' ')[1]), headers, body });
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    take();
  });
  void closed.then(() => {
    for (const resolve of waiting.splice(0)) resolve(new Error('the connection closed without a (complete) answer'));
  });

  return {
    socket,
    closed,
    next: () =>
      new Promise<RawResponse>((resolve, reject) => {
        waiting.push((response) => (response instanceof Error ? reject(response) : resolve(response)));
        take();
      }),
  };
}

/** Sends `bytes` on a new connection and returns the one answer. */
export async function rawRequest(port: number, bytes: string | Buffer): Promise<RawResponse> {
  const connection = await connect(port);
  const answer = connection.next();
  connection.socket.write(bytes);
  try {
    return await answer;
  } finally {
    connection.socket.destroy();
  }
}

/** A GET as a client writes it, with extra header lines. */
export const getRequest = (path: string, headers: Record<string, string> = {}) =>
  `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
