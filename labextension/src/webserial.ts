/**
 * A serial port of this computer, opened by the page through the browser's Web Serial API.
 *
 * Web Serial is not in TypeScript's DOM library: the part used here is declared below. The
 * API is looked up at run time (`navigator.serial`), never guessed from the browser's name.
 * What it says to the user goes through JupyterLab's translator (`trans.__`).
 */
import { TranslationBundle } from '@jupyterlab/translation';

export interface ISerialPortInfo {
  usbVendorId?: number;
  usbProductId?: number;
}

export interface ISerialSignals {
  dataTerminalReady?: boolean;
  requestToSend?: boolean;
  break?: boolean;
}

export interface ISerialPort extends EventTarget {
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  open(options: { baudRate: number }): Promise<void>;
  close(): Promise<void>;
  setSignals(signals: ISerialSignals): Promise<void>;
  getInfo(): ISerialPortInfo;
}

export interface ISerial extends EventTarget {
  requestPort(options?: { filters?: ISerialPortInfo[] }): Promise<ISerialPort>;
  getPorts(): Promise<ISerialPort[]>;
}

/** The browser's Web Serial API, or null where this browser (or this page) has none. */
export function webSerial(): ISerial | null {
  return (navigator as Navigator & { serial?: ISerial }).serial ?? null;
}

/** Why there is no Web Serial here, in one line that says what still works. */
export function noSerialReason(trans: TranslationBundle): string {
  return window.isSecureContext
    ? trans.__(
        "This browser cannot open serial ports (Web Serial: Chrome or Edge): pick a port of the kernel's computer below, or use WebREPL (%connect ws://…)."
      )
    : trans.__(
        "This page is not served over https, so the browser gives it no serial ports: pick a port of the kernel's computer below, or use WebREPL (%connect ws://…)."
      );
}

/** "USB 2e8a:0005", or "no USB ids" (a Bluetooth or built-in port). */
export function describePort(info: ISerialPortInfo, trans: TranslationBundle): string {
  const hex = (n: number): string => n.toString(16).padStart(4, '0');
  if (info.usbVendorId === undefined || info.usbProductId === undefined) {
    return trans.__('no USB ids');
  }
  return trans.__('USB %1:%2', hex(info.usbVendorId), hex(info.usbProductId));
}

/** Bytes are written in pieces of at most this size, so an interrupt can go ahead of the rest. */
const WRITE_PIECE = 1024;

/**
 * An open port: a reader loop that hands every byte read to `onData`, ordered writes,
 * signals, and close-and-reopen at another baud rate. `onLost` is called once with one line
 * when the port goes away (unplugged, or a fatal error), not after `close()`.
 */
export class OpenPort {
  private _writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  private _reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private _loop: Promise<void> = Promise.resolve();
  private _open = false;
  private _lost = false;
  private _baud = 0;
  private _onDisconnect = (event: Event): void => {
    if (event.target === this.port) {
      this._fail(this._trans.__('The board was unplugged from this computer.'));
    }
  };

  constructor(
    readonly port: ISerialPort,
    private _onData: (bytes: Uint8Array) => void,
    private _onLost: (line: string) => void,
    private _trans: TranslationBundle
  ) {}

  get baud(): number {
    return this._baud;
  }
  get isOpen(): boolean {
    return this._open;
  }
  get info(): ISerialPortInfo {
    return this.port.getInfo();
  }

  /** Open the port at `baud` and start reading. Rejects with one line. */
  async open(baud: number): Promise<void> {
    try {
      await this.port.open({ baudRate: baud });
    } catch (err) {
      throw new Error(openError(err, baud, this._trans));
    }
    this._baud = baud;
    this._open = true;
    this._lost = false;
    this.port.addEventListener('disconnect', this._onDisconnect);
    webSerial()?.addEventListener('disconnect', this._onDisconnect);
    this._writer = this.port.writable?.getWriter() ?? null;
    this._loop = this._read();
  }

  /** Write bytes in order (resolves when the port took them). */
  async write(bytes: Uint8Array): Promise<void> {
    for (let i = 0; i < bytes.length; i += WRITE_PIECE) {
      await this.writeNow(bytes.subarray(i, i + WRITE_PIECE));
    }
  }

  /** Write one piece at once, ahead of pieces that `write` has not handed over yet. */
  async writeNow(bytes: Uint8Array): Promise<void> {
    const writer = this._writer;
    if (!writer || !this._open) {
      throw new Error(this._trans.__('The port is closed.'));
    }
    try {
      await writer.write(bytes);
    } catch (err) {
      this._fail(this._trans.__("Writing to the board's port failed: %1.", message(err)));
      throw err;
    }
  }

  async setSignals(signals: ISerialSignals): Promise<void> {
    await this.port.setSignals(signals);
  }

  /**
   * Close the port and open it again at `baud` (the way Web Serial changes the rate). When
   * the port refuses that rate it is opened again at the old one; rejects with one line.
   */
  async reopen(baud: number): Promise<void> {
    const previous = this._baud;
    await this._shut();
    try {
      await this.open(baud);
    } catch (err) {
      try {
        await this.open(previous); // keep the port usable at the old rate
      } catch {
        throw err; // the port is gone (unplugged meanwhile?): why it did not open
      }
      throw new Error(
        this._trans.__(
          'the port did not open at %1 baud (the USB adapter may not take that rate); it stays at %2 baud',
          baud,
          previous
        )
      );
    }
  }

  /** Stop reading and close the port (the page gives the board up). */
  async close(): Promise<void> {
    this.port.removeEventListener('disconnect', this._onDisconnect);
    webSerial()?.removeEventListener('disconnect', this._onDisconnect);
    await this._shut();
  }

  private async _shut(): Promise<void> {
    if (!this._open) {
      return;
    }
    this._open = false;
    const reader = this._reader;
    if (reader) {
      await reader.cancel().catch(() => undefined);
    }
    await this._loop;
    const writer = this._writer;
    this._writer = null;
    if (writer) {
      await writer.close().catch(() => undefined);
      writer.releaseLock();
    }
    await this.port.close().catch(() => undefined);
  }

  /** Read until closed; a non-fatal error (overrun, framing) gives a new stream: go on. */
  private async _read(): Promise<void> {
    while (this._open && this.port.readable) {
      const reader = this.port.readable.getReader();
      this._reader = reader;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            break;
          }
          if (value && value.length) {
            this._onData(value);
          }
        }
      } catch (err) {
        if (this._open && !this.port.readable) {
          this._fail(this._trans.__("The board's port failed: %1.", message(err)));
        }
      } finally {
        reader.releaseLock();
        this._reader = null;
      }
    }
    if (this._open && !this.port.readable) {
      this._fail(this._trans.__('The board was unplugged from this computer.'));
    }
  }

  private _fail(line: string): void {
    if (this._lost || !this._open) {
      return;
    }
    this._lost = true;
    this._onLost(line);
  }
}

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\.$/, '');
}

function openError(err: unknown, baud: number, trans: TranslationBundle): string {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'InvalidStateError') {
    return trans.__('This port is already open in this page: use Disconnect first.');
  }
  if (name === 'NetworkError') {
    return trans.__(
      'The port could not be opened: another program or tab has it open (a serial terminal, Thonny, esptool), or it was unplugged.'
    );
  }
  if (name === 'TypeError' || err instanceof TypeError) {
    return trans.__('The port refuses %1 baud: %2.', baud, message(err));
  }
  return trans.__('The port could not be opened: %1.', message(err));
}
