/**
 * "Connect a board on this computer": the port is picked and opened by the page (Web Serial),
 * lent to the kernel in focus through a browser link, and the kernel is asked to connect to
 * it (the panel's `connect` request with target "browser").
 */
import { KernelAPI } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { BoardConnection, IBoardState } from './connection';
import { BrowserLink } from './link';
import { ISerialPort, noSerialReason, webSerial } from './webserial';

/** The link kind the kernel reports for a board reached through the page. */
export const BROWSER_KIND = 'browser-serial';

/** The user closed the port picker without a choice: nothing to say. */
export class PickCancelled extends Error {}

export class PageBoard {
  private _links = new Map<string, BrowserLink>();
  private _ended = new Signal<this, string>(this);
  private _rateChanged = new Signal<this, number>(this);

  constructor(
    private _board: BoardConnection,
    private _trans: TranslationBundle
  ) {}

  /** Whether this browser gives the page serial ports (checked each time: no sniffing). */
  get available(): boolean {
    return webSerial() !== null;
  }
  /** One line: why there is no "board on this computer" here, and what still works. */
  get unavailableReason(): string {
    return noSerialReason(this._trans);
  }
  /** A link ended without being asked to (unplugged, tab of the relay gone): one line. */
  get ended(): ISignal<this, string> {
    return this._ended;
  }
  /** A link's port was opened again at another baud rate (the kernel asked). */
  get rateChanged(): ISignal<this, number> {
    return this._rateChanged;
  }

  /** The open link of the kernel in focus, if this page holds one. */
  get link(): BrowserLink | null {
    const id = this._board.kernel?.id;
    return (id && this._links.get(id)) || null;
  }

  /**
   * Pick a port (the click's user gesture), open it, pair it with the kernel in focus and
   * connect the kernel to it. Rejects with one line, or with PickCancelled.
   */
  async connect(): Promise<IBoardState> {
    const trans = this._trans;
    const serial = webSerial();
    if (!serial) {
      throw new Error(noSerialReason(trans));
    }
    const kernel = this._board.kernel;
    if (!kernel) {
      throw new Error(trans.__('No MicroPython kernel in focus: open or select a notebook.'));
    }
    const state = this._board.state;
    if (state.connected && state.kind === BROWSER_KIND && !this._links.has(kernel.id)) {
      throw new Error(
        trans.__(
          "Another tab holds this kernel's board: use that tab, or close it and connect again here."
        )
      );
    }
    // The picker comes first, while the click still counts as the user's gesture.
    let port: ISerialPort;
    try {
      port = await serial.requestPort();
    } catch (err) {
      if (err instanceof DOMException && err.name === 'NotFoundError') {
        throw new PickCancelled(trans.__('No port chosen.'));
      }
      throw new Error(trans.__('The browser gave no port: %1', (err as Error).message));
    }
    await this.release(kernel.id);
    const link = await BrowserLink.open(port, kernel, trans);
    this._links.set(kernel.id, link);
    link.rateChanged.connect((_, baud) => this._rateChanged.emit(baud));
    let endedWith = '';
    link.ended.connect((_, line) => {
      endedWith = line;
      if (this._links.get(kernel.id) === link) {
        this._links.delete(kernel.id);
        this._ended.emit(line);
      }
    });
    try {
      // The server refuses a second page for a kernel as soon as its WebSocket opens (`E`,
      // then a close): one round trip to the server lets that arrive before the kernel is
      // asked, so a refused page never makes the kernel let go of the other tab's board.
      await KernelAPI.getKernelModel(kernel.id, kernel.serverSettings).catch(() => undefined);
      if (!link.isOpen) {
        throw new Error(endedWith);
      }
      return await this._board.request('connect', { target: 'browser' });
    } catch (err) {
      // The relay's reason (e.g. another tab holds this kernel's board) says more.
      const line = endedWith || (err as Error).message;
      if (!endedWith && link.isOpen) {
        // The port and the link are fine but no MicroPython answered (a new board, or one in
        // its bootloader): the page keeps them, such a board is flashed through this link.
        const kept = trans.__('The port stays open for %1 and the flash panel.', '%flash');
        throw new Error(`${kept} ${line}`);
      }
      this._forget(kernel.id);
      link.end(line);
      throw new Error(line);
    }
  }

  /** Give the port up (the panel's Disconnect, after the kernel let the board go). */
  async release(kernelId = this._board.kernel?.id): Promise<void> {
    if (!kernelId) {
      return;
    }
    const link = this._forget(kernelId);
    if (link) {
      link.end(this._trans.__('The board was disconnected from the panel.'));
      await link.port.close();
    }
  }

  private _forget(kernelId: string): BrowserLink | null {
    const link = this._links.get(kernelId) ?? null;
    this._links.delete(kernelId);
    return link;
  }
}
