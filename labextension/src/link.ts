/**
 * The browser link: a board on this computer's serial port, lent to a kernel on the server.
 *
 * The page holds the port (Web Serial) and a WebSocket to the Jupyter server's relay at
 * `{baseUrl}mpkernel/link/{kernelId}`, authenticated as JupyterLab's kernel WebSockets are.
 * Both ways carry the frames of the browser link (one binary message a frame: a type byte,
 * then the payload); the kernel's end is its browser-serial transport.
 *
 * kernel -> page: `W` write, `F` a put's frames (at most a window of them unacknowledged by
 * the board), `P` raw-paste (the board's window grants are consumed here, next to the board:
 * no round trip per window; `Q` with the credit the board granted before the kernel handed
 * the paste over, so that two windows are in flight as the board allows), `L` paced write, `S` signals, `B` baud rate, `I` interrupt (a
 * Ctrl-C ahead of queued writes), `X` the kernel lets the link go.
 * page -> kernel: `H` hello, `D` bytes read, the acks `p` `f` `l` `s` `b`, and `E` + one
 * line when the link ends (unplugged, port error, tab closed). The server itself says `A`
 * once as the link becomes this page's, or `E` + one line as it refuses the page.
 */
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { ISerialPort, OpenPort, describePort } from './webserial';

/** The baud rate a board's REPL speaks first. */
export const DEFAULT_BAUD = 115200;
/** Version of the frames this page speaks (sent in the hello). */
const PROTOCOL_VERSION = 1;
/** How long the server may take to accept the link's WebSocket. */
const ACCEPT_TIMEOUT = 15_000;
/** How long a raw-paste waits for the board's next window before it gives up. */
const GRANT_TIMEOUT = 10_000;

const CTRL_A = 0x01;
const CTRL_C = 0x03;
const CTRL_D = 0x04;

const enc = new TextEncoder();

/** What the kernel connection needs to reach its relay. */
export interface ILinkKernel {
  id: string;
  serverSettings: ServerConnection.ISettings;
}

/** The relay's URL for this kernel, with the token where JupyterLab's kernels add it. */
export function linkUrl(kernel: ILinkKernel): string {
  const settings = kernel.serverSettings;
  const base = settings.wsUrl.endsWith('/') ? settings.wsUrl : `${settings.wsUrl}/`;
  let url = `${base}mpkernel/link/${encodeURIComponent(kernel.id)}`;
  if (settings.appendToken && settings.token) {
    url += `?token=${encodeURIComponent(settings.token)}`;
  }
  return url;
}

function frame(type: string, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(1 + payload.length);
  out[0] = type.charCodeAt(0);
  out.set(payload, 1);
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => window.setTimeout(resolve, ms));
}

/** A file transfer's frames in flight (`F`): the board acknowledges each with one byte. */
interface IWindowed {
  ack: number;
  unacked: number;
  stopped: boolean;
  wake: (() => void) | null;
}

/** A raw-paste in progress: what the reader found in the board's bytes. */
interface IPaste {
  window: number;
  credit: number;
  /** Why the paste stopped early: the board said so (Ctrl-D), or this page stops it. */
  stopped: 'board' | 'page' | null;
  wake: (() => void) | null;
}

export class BrowserLink {
  private _ws: WebSocket | null = null;
  private _queue: (() => Promise<void>)[] = [];
  private _working = false;
  private _paste: IPaste | null = null;
  private _windowed: IWindowed | null = null;
  /** After the paste's closing Ctrl-D: drop late window grants until the board's Ctrl-D. */
  private _pasteEnding = false;
  private _pasteEnded: (() => void) | null = null;
  /** The last line the server said (`E`): the reason when it then closes the WebSocket. */
  private _serverSaid = '';
  private _ended = false;
  private _endedSignal = new Signal<this, string>(this);
  private _rateChanged = new Signal<this, number>(this);
  private _onUnload = (): void =>
    this.end(this._trans.__('The tab that held the board was closed or reloaded.'));

  readonly port: OpenPort;

  private constructor(
    serial: ISerialPort,
    readonly kernel: ILinkKernel,
    private _trans: TranslationBundle
  ) {
    this.port = new OpenPort(
      serial,
      bytes => this._fromBoard(bytes),
      line => this.end(line),
      _trans
    );
  }

  /**
   * Open `serial` at 115200 baud and the relay's WebSocket for `kernel`, and say hello.
   * Rejects with one line (and leaves the port closed).
   */
  static async open(
    serial: ISerialPort,
    kernel: ILinkKernel,
    trans: TranslationBundle
  ): Promise<BrowserLink> {
    const link = new BrowserLink(serial, kernel, trans);
    await link.port.open(DEFAULT_BAUD);
    try {
      link._ws = await openSocket(linkUrl(kernel), trans);
    } catch (err) {
      await link.port.close();
      throw err;
    }
    link._ws.onmessage = event => link._onFrame(new Uint8Array(event.data as ArrayBuffer));
    link._ws.onclose = event =>
      link.end(
        event.reason ||
          link._serverSaid ||
          trans.__('The Jupyter server closed the board link (server stopped or restarted?).'),
        false
      );
    window.addEventListener('pagehide', link._onUnload);
    link._hello();
    return link;
  }

  /** Say hello: the port and its rate (the server hands the latest to each kernel). */
  private _hello(): void {
    const info = this.port.info;
    this._send(
      'H',
      enc.encode(
        JSON.stringify({
          usbVendorId: info.usbVendorId ?? null,
          usbProductId: info.usbProductId ?? null,
          baud: this.port.baud,
          version: PROTOCOL_VERSION,
          features: ['windowed', 'granted']
        })
      )
    );
  }

  /** "USB 2e8a:0005 at 115200 baud" */
  get description(): string {
    return this._trans.__('%1 at %2 baud', describePort(this.port.info, this._trans), this.port.baud);
  }
  get isOpen(): boolean {
    return !this._ended;
  }
  /** The link ended (one line that says why); emitted once. */
  get ended(): ISignal<this, string> {
    return this._endedSignal;
  }
  /** The port was opened again at another baud rate (the kernel asked: `B`). */
  get rateChanged(): ISignal<this, number> {
    return this._rateChanged;
  }

  /**
   * End the link: tell the kernel why (`E`, unless the server closed it), close the WebSocket
   * and the port. Safe to call more than once.
   */
  end(line: string, tell = true): void {
    if (this._ended) {
      return;
    }
    this._ended = true;
    window.removeEventListener('pagehide', this._onUnload);
    this._abortPaste();
    this._queue = [];
    const ws = this._ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      if (tell) {
        ws.send(frame('E', enc.encode(line)));
      }
      ws.close(1000, 'the page released the board');
    }
    void this.port.close();
    this._endedSignal.emit(line);
  }

  private _send(type: string, payload?: Uint8Array): void {
    const ws = this._ws;
    if (ws && ws.readyState === WebSocket.OPEN && !this._ended) {
      ws.send(frame(type, payload));
    }
  }

  // -- frames from the kernel -----------------------------------------------------------

  private _onFrame(data: Uint8Array): void {
    if (this._ended || data.length === 0) {
      return;
    }
    const type = String.fromCharCode(data[0]);
    const body = data.subarray(1);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    switch (type) {
      case 'W':
        this._enqueue(() => this.port.write(body));
        break;
      case 'P':
        if (body.length >= 2) {
          const size = view.getUint16(0, true);
          this._enqueue(() => this._rawPaste(size, size, body.subarray(2)));
        }
        break;
      case 'Q':
        if (body.length >= 4) {
          const size = view.getUint16(0, true);
          const credit = view.getUint16(2, true);
          this._enqueue(() => this._rawPaste(size, credit, body.subarray(4)));
        }
        break;
      case 'F':
        if (body.length >= 2) {
          this._enqueue(() => this._windowedWrite(body[0], body[1], body.subarray(2)));
        }
        break;
      case 'L':
        if (body.length >= 4) {
          const slice = Math.max(1, view.getUint16(0, true));
          const pause = view.getUint16(2, true);
          this._enqueue(() => this._pacedWrite(body.subarray(4), slice, pause));
        }
        break;
      case 'S':
        if (body.length >= 1) {
          this._enqueue(() => this._signals(body[0]));
        }
        break;
      case 'B':
        if (body.length >= 4) {
          this._enqueue(() => this._baud(view.getUint32(0, true)));
        }
        break;
      case 'I':
        // The stop button: a Ctrl-C goes to the port ahead of the writes still queued here.
        void this.port.writeNow(new Uint8Array([CTRL_C])).catch(() => undefined);
        break;
      case 'X':
        // The kernel let the link go: stop any paste, keep the port for the next connect.
        this._stopWindowed();
        this._abortPaste();
        this._endPaste();
        break;
      case 'A':
        // The server's word that the link is this page's (a refused page gets `E` instead).
        break;
      case 'E':
        // The server's word: the kernel's end closed (restart), or a refusal that closes the
        // WebSocket next. The port stays open for the next connect.
        this._serverSaid = new TextDecoder().decode(body);
        this._stopWindowed();
        this._abortPaste();
        this._endPaste();
        break;
      default:
        console.warn(`mpkernel: ignored a board link frame of unknown type ${data[0]}`);
    }
  }

  private _enqueue(task: () => Promise<void>): void {
    this._queue.push(task);
    if (!this._working) {
      void this._work();
    }
  }

  /** Frames are handled one after the other, in the order they came. */
  private async _work(): Promise<void> {
    this._working = true;
    try {
      while (this._queue.length && !this._ended) {
        const task = this._queue.shift()!;
        try {
          await task();
        } catch (err) {
          if (!this._ended) {
            this.end(this._trans.__("The board's port failed: %1", (err as Error).message));
          }
        }
      }
    } finally {
      this._working = false;
    }
  }

  /**
   * Raw-paste: the `credit` the board granted so far, then a window each time the board
   * grants one (a Ctrl-A).
   */
  private async _rawPaste(window: number, credit: number, code: Uint8Array): Promise<void> {
    const paste: IPaste = { window, credit, stopped: null, wake: null };
    this._paste = paste;
    try {
      let sent = 0;
      while (sent < code.length && !paste.stopped) {
        if (paste.credit <= 0) {
          await this._grant(paste);
          continue;
        }
        const n = Math.min(paste.credit, code.length - sent);
        paste.credit -= n;
        await this.port.write(code.subarray(sent, sent + n));
        sent += n;
      }
      const stopped = paste.stopped;
      this._paste = null; // from here on, the board's bytes are the paste's end
      const ended = stopped ? null : this._awaitPasteEnd();
      // The end of data, or the answer to the board's Ctrl-D; a paste this page stops gets a
      // Ctrl-C, so that code cut short is never run.
      await this.port.write(new Uint8Array([stopped === 'page' ? CTRL_C : CTRL_D]));
      // The board answers the end of data with a Ctrl-D: forwarded before the `p`.
      await ended;
    } finally {
      if (this._paste === paste) {
        this._paste = null;
      }
      this._send('p');
    }
  }

  /** Wait for a window grant (or the board's abort); gives up after GRANT_TIMEOUT. */
  private _grant(paste: IPaste): Promise<void> {
    return new Promise<void>(resolve => {
      const timer = window.setTimeout(() => {
        paste.stopped = 'page'; // the board stopped granting: the kernel's deadline says so
        resolve();
      }, GRANT_TIMEOUT);
      paste.wake = () => {
        window.clearTimeout(timer);
        paste.wake = null;
        resolve();
      };
    });
  }

  /** Until the board's Ctrl-D after the paste (late grants are dropped), at most a while. */
  private _awaitPasteEnd(): Promise<void> {
    this._pasteEnding = true;
    return new Promise<void>(resolve => {
      const timer = window.setTimeout(() => this._endPaste(), GRANT_TIMEOUT);
      this._pasteEnded = () => {
        window.clearTimeout(timer);
        resolve();
      };
    });
  }

  private _endPaste(): void {
    this._pasteEnding = false;
    const wake = this._pasteEnded;
    this._pasteEnded = null;
    wake?.();
  }

  private _stopWindowed(): void {
    const windowed = this._windowed;
    if (windowed) {
      windowed.stopped = true;
      windowed.wake?.();
    }
  }

  private _abortPaste(by: 'board' | 'page' = 'page'): void {
    const paste = this._paste;
    if (paste && !paste.stopped) {
      paste.stopped = by;
      paste.wake?.();
    }
  }

  /**
   * A put's frames, at most `window` of them unacknowledged: the board's `ack` byte (still
   * forwarded) acknowledges one; any other byte stops the writing. Answers `f` + frames written.
   */
  private async _windowedWrite(window: number, ack: number, body: Uint8Array): Promise<void> {
    const frames: Uint8Array[] = [];
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let pos = 0; pos + 2 <= body.length; ) {
      const size = view.getUint16(pos, true);
      frames.push(body.subarray(pos + 2, pos + 2 + size));
      pos += 2 + size;
    }
    const state: IWindowed = { ack, unacked: 0, stopped: false, wake: null };
    this._windowed = state;
    let written = 0;
    try {
      for (const frame of frames) {
        while (state.unacked >= Math.max(1, window) && !state.stopped && !this._ended) {
          await this._windowWait(state);
        }
        if (state.stopped || this._ended) {
          break;
        }
        state.unacked++;
        await this.port.write(frame);
        written++;
      }
    } finally {
      if (this._windowed === state) {
        this._windowed = null;
      }
      const answer = new Uint8Array(4);
      new DataView(answer.buffer).setUint32(0, written, true);
      this._send('f', answer);
    }
  }

  /** Until the board acknowledges a frame or stops; gives up after GRANT_TIMEOUT. */
  private _windowWait(state: IWindowed): Promise<void> {
    return new Promise<void>(resolve => {
      const timer = window.setTimeout(() => {
        state.stopped = true;
        resolve();
      }, GRANT_TIMEOUT);
      state.wake = () => {
        window.clearTimeout(timer);
        state.wake = null;
        resolve();
      };
    });
  }

  private async _pacedWrite(bytes: Uint8Array, slice: number, pause: number): Promise<void> {
    for (let i = 0; i < bytes.length && !this._ended; i += slice) {
      await this.port.write(bytes.subarray(i, i + slice));
      if (pause && i + slice < bytes.length) {
        await sleep(pause);
      }
    }
    this._send('l');
  }

  private async _signals(flags: number): Promise<void> {
    try {
      await this.port.setSignals({
        dataTerminalReady: (flags & 1) !== 0,
        requestToSend: (flags & 2) !== 0,
        break: (flags & 4) !== 0
      });
    } catch (err) {
      console.warn(`mpkernel: the port refused its signals: ${(err as Error).message}`);
    }
    this._send('s');
  }

  private async _baud(baud: number): Promise<void> {
    try {
      await this.port.reopen(baud);
      this._send('b', new Uint8Array([1]));
    } catch (err) {
      const line = (err as Error).message;
      this._send('b', new Uint8Array([0, ...enc.encode(line)]));
      if (!this.port.isOpen) {
        this.end(line);
      }
      return;
    }
    // The rate changed: the kernel that connects next is told the port's rate as it is.
    this._hello();
    this._rateChanged.emit(baud);
  }

  // -- bytes from the board -------------------------------------------------------------

  private _fromBoard(bytes: Uint8Array): void {
    if (this._ended) {
      return;
    }
    const windowed = this._windowed;
    if (windowed) {
      for (const b of bytes) {
        if (b === windowed.ack && !windowed.stopped) {
          windowed.unacked--;
        } else {
          windowed.stopped = true; // the board said something else: an error, or done
        }
      }
      windowed.wake?.();
    }
    const paste = this._paste;
    if (!paste && !this._pasteEnding) {
      this._send('D', bytes);
      return;
    }
    // While pasting, the board's Ctrl-A grants are consumed here; its Ctrl-D ends the paste.
    const kept: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this._paste && !this._paste.stopped) {
        if (b === CTRL_A) {
          this._paste.credit += this._paste.window;
          this._paste.wake?.();
          continue;
        }
        if (b === CTRL_D) {
          this._abortPaste('board'); // the board stopped the paste (an error, or a Ctrl-C)
          kept.push(...bytes.subarray(i));
          break;
        }
      } else if (this._pasteEnding) {
        if (b === CTRL_A) {
          continue; // a grant that crossed our Ctrl-D
        }
        if (b === CTRL_D) {
          kept.push(...bytes.subarray(i));
          break;
        }
      }
      kept.push(b);
    }
    if (kept.length) {
      this._send('D', new Uint8Array(kept));
    }
    if (this._pasteEnding && !this._paste && kept.includes(CTRL_D)) {
      this._endPaste(); // the board's Ctrl-D has gone to the kernel: now the `p`
    }
  }
}

/** Open a WebSocket and wait until the server accepts it; rejects with one line. */
function openSocket(url: string, trans: TranslationBundle): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const timer = window.setTimeout(() => {
      ws.close();
      reject(new Error(trans.__('The Jupyter server did not answer the board link: try again.')));
    }, ACCEPT_TIMEOUT);
    ws.onopen = () => {
      window.clearTimeout(timer);
      ws.onclose = null;
      resolve(ws);
    };
    ws.onclose = event => {
      window.clearTimeout(timer);
      reject(
        new Error(
          event.reason ||
            trans.__(
              "The Jupyter server refused the board link: is mpkernel's server extension enabled there (jupyter server extension list)?"
            )
        )
      );
    };
  });
}
