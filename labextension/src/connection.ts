/**
 * The link to the board: the `mpkernel.board` comm of the MicroPython kernel in focus.
 *
 * Follows the focused notebook or console, reopens the comm after a kernel restart, and
 * turns requests into promises (one reply per request id) and kernel events into signals.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import {
  Args,
  Availability,
  IBoardConnection,
  IBoardState,
  IMessage,
  IProgress,
  IRequestOptions,
  Op,
  RequestParams,
  Result
} from './tokens';

export type { Availability, IBoardState, IProgress } from './tokens';

export const TARGET = 'mpkernel.board';
/** How long a request may go without a word from the kernel before the panel gives up
 * (a page may lower it for tests: `window.mpkernelRequestTimeoutMs`). */
const REQUEST_TIMEOUT_MS = 120_000;

declare global {
  interface Window {
    /** A test page's lower bound for the panel's requests, in milliseconds. */
    mpkernelRequestTimeoutMs?: number;
  }
}

function requestTimeoutMs(): number {
  const set = window.mpkernelRequestTimeoutMs;
  return typeof set === 'number' && set > 0 ? set : REQUEST_TIMEOUT_MS;
}


/** A request that failed; `busy` when the board was in use. */
export class BoardRequestError extends Error {
  constructor(
    message: string,
    readonly busy: boolean
  ) {
    super(message);
  }
}

interface IPending {
  /** Takes the reply's result: the shape `IRequests` gives for the request's op. */
  resolve: (value: Result<Op>) => void;
  reject: (reason: Error) => void;
  progress?: (p: IProgress) => void;
}

export class BoardConnection implements IBoardConnection {
  private _context: ISessionContext | null = null;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _comm: Kernel.IComm | null = null;
  private _micropython = false;
  private _nextId = 1;
  private _pending = new Map<number, IPending>();
  private _state: IBoardState = { connected: false };
  private _availability: Availability = 'no-kernel';
  private _transfer = false;
  private _cellRunning = false;
  private _stateChanged = new Signal<this, IBoardState>(this);
  private _availabilityChanged = new Signal<this, Availability>(this);
  private _output = new Signal<this, string>(this);
  private _reset = new Signal<this, boolean>(this);

  constructor(private _trans: TranslationBundle = nullTranslator.load('mpkernel')) {}

  /** The board state last heard from the kernel. */
  get state(): IBoardState {
    return this._state;
  }
  get availability(): Availability {
    return this._availability;
  }
  /** Whether a transfer started from the panel is running. */
  get transferring(): boolean {
    return this._transfer;
  }
  get kernel(): Kernel.IKernelConnection | null {
    return this._micropython ? this._kernel : null;
  }
  get stateChanged(): ISignal<this, IBoardState> {
    return this._stateChanged;
  }
  get availabilityChanged(): ISignal<this, Availability> {
    return this._availabilityChanged;
  }
  /** Text the board printed outside a cell (and output of "Run on board"). */
  get output(): ISignal<this, string> {
    return this._output;
  }
  /** A reset from the panel finished (true: hard). */
  get reset(): ISignal<this, boolean> {
    return this._reset;
  }

  /** Follow a notebook's or console's session (null: nothing in focus). */
  follow(context: ISessionContext | null): void {
    if (context === this._context) {
      return;
    }
    if (this._context) {
      this._context.kernelChanged.disconnect(this._onKernelChanged, this);
      this._context.statusChanged.disconnect(this._onStatus, this);
    }
    this._context = context;
    if (context) {
      context.kernelChanged.connect(this._onKernelChanged, this);
      context.statusChanged.connect(this._onStatus, this);
    }
    void this._attach(context?.session?.kernel ?? null);
  }

  /** Send a request; resolves with its result, rejects with a BoardRequestError. */
  request<K extends Op>(op: K, ...params: RequestParams<K>): Promise<Result<K>> {
    const [args = {} as Args<K>, options = {} as IRequestOptions] = params;
    const comm = this._comm;
    if (!comm || comm.isDisposed) {
      return Promise.reject(
        new BoardRequestError(
          this._trans.__('No MicroPython kernel in focus: open or select a notebook.'),
          false
        )
      );
    }
    const id = this._nextId++;
    const transfer = options.buffers !== undefined || op === 'download';
    return new Promise<Result<K>>((resolve, reject) => {
      const settle = resolve as (value: Result<Op>) => void;
      // Give up when the kernel says nothing about the request for REQUEST_TIMEOUT_MS
      // (progress counts; so does a cell running, as requests wait behind it).
      let timer = 0;
      const limit = requestTimeoutMs();
      const arm = (): void => {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => {
          if (this._cellRunning) {
            arm();
            return;
          }
          this._pending.delete(id);
          reject(
            new BoardRequestError(
              this._trans.__(
                'The kernel did not answer the panel (%1) within %2 s: it may be stuck; interrupt or restart it.',
                op,
                limit / 1000
              ),
              false
            )
          );
        }, limit);
      };
      this._pending.set(id, {
        resolve: value => {
          window.clearTimeout(timer);
          settle(value);
        },
        reject: error => {
          window.clearTimeout(timer);
          reject(error);
        },
        progress: p => {
          arm();
          options.progress?.(p);
        }
      });
      arm();
      if (transfer) {
        this._setTransfer(true);
      }
      comm.send({ id, op, ...args }, undefined, options.buffers);
    }).finally(() => {
      if (transfer) {
        this._setTransfer(false);
      }
    });
  }

  /** Run code as a cell in the focused kernel; its output goes to the console signal. */
  async runCode(code: string): Promise<void> {
    const kernel = this.kernel;
    if (!kernel) {
      throw new BoardRequestError(this._trans.__('No MicroPython kernel in focus.'), false);
    }
    const future = kernel.requestExecute({ code, stop_on_error: true });
    future.onIOPub = msg => {
      const type = msg.header.msg_type;
      if (type === 'stream') {
        this._output.emit((msg as KernelMessage.IStreamMsg).content.text);
      } else if (type === 'error') {
        const content = (msg as KernelMessage.IErrorMsg).content;
        this._output.emit(`${content.ename}: ${content.evalue}\n`);
      } else if (type === 'execute_result') {
        const data = (msg as KernelMessage.IExecuteResultMsg).content.data;
        this._output.emit(`${String(data['text/plain'] ?? '')}\n`);
      }
    };
    await future.done;
  }

  private _setTransfer(on: boolean): void {
    this._transfer = on;
    this._availabilityChanged.emit(this._availability);
  }

  private _onKernelChanged(): void {
    void this._attach(this._context?.session?.kernel ?? null);
  }

  private _onStatus(_: ISessionContext, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
      this._dropComm(this._trans.__('The kernel restarted.'));
      this._cellRunning = false;
      this._setState({ connected: false });
    }
    if (status === 'idle' && this._micropython && !this._comm) {
      this._openComm();
    }
    this._updateAvailability();
  }

  private async _attach(kernel: Kernel.IKernelConnection | null): Promise<void> {
    this._dropComm(this._trans.__('The notebook in focus changed.'));
    this._kernel = kernel;
    this._micropython = false;
    this._cellRunning = false;
    this._setState({ connected: false });
    this._updateAvailability();
    if (!kernel) {
      return;
    }
    let implementation = '';
    try {
      const info = await kernel.info;
      implementation = info.implementation;
    } catch {
      implementation = '';
    }
    if (kernel !== this._kernel) {
      return; // focus moved on meanwhile
    }
    this._micropython = implementation === 'mpkernel';
    if (this._micropython) {
      this._openComm();
    }
    this._updateAvailability();
  }

  private _openComm(): void {
    const kernel = this._kernel;
    if (!kernel || kernel.isDisposed || !kernel.hasComm) {
      return;
    }
    const comm = kernel.createComm(TARGET);
    comm.onMsg = msg => this._onMessage(msg);
    comm.onClose = () => {
      if (this._comm === comm) {
        this._dropComm(this._trans.__('The kernel closed the board channel.'));
      }
    };
    this._comm = comm;
    comm.open({});
  }

  private _dropComm(reason: string): void {
    const comm = this._comm;
    this._comm = null;
    if (comm && !comm.isDisposed) {
      try {
        comm.dispose();
      } catch {
        // the kernel is gone: nothing to close
      }
    }
    for (const pending of this._pending.values()) {
      pending.reject(new BoardRequestError(reason, false));
    }
    this._pending.clear();
  }

  private _onMessage(msg: KernelMessage.ICommMsgMsg): void {
    const data = msg.content.data as IMessage;
    if (!('id' in data) || 'event' in data) {
      const event = data.event;
      if (event === 'state') {
        this._setState(data.state, true);
      } else if (event === 'output') {
        this._output.emit(String(data.text));
      } else if (event === 'reset') {
        this._reset.emit(Boolean(data.hard));
      } else if (event === 'busy' || event === 'idle') {
        this._cellRunning = event === 'busy';
        this._updateAvailability();
      } else if (event === 'progress') {
        this._pending.get(data.id)?.progress?.({ done: data.done, total: data.total });
      }
      return;
    }
    const pending = this._pending.get(data.id);
    this._pending.delete(data.id);
    if (!pending) {
      return;
    }
    if (data.ok) {
      pending.resolve(data.result);
    } else {
      pending.reject(new BoardRequestError(String(data.error), Boolean(data.busy)));
    }
  }

  /** Keep details (firmware, heap) from a status reply when only the cheap state changed. */
  private _setState(state: IBoardState, merge = false): void {
    const same =
      merge && state.connected && this._state.port === state.port && this._state.connected;
    this._state = same ? { ...this._state, ...state } : state;
    this._stateChanged.emit(this._state);
  }

  /** Record the full status from a `status` request. */
  setStatus(state: IBoardState): void {
    this._setState(state);
  }

  private _updateAvailability(): void {
    let next: Availability;
    const status = this._context?.session?.kernel?.status ?? 'unknown';
    if (!this._kernel) {
      next = 'no-kernel';
    } else if (!this._micropython) {
      next = status === 'starting' || status === 'unknown' ? 'starting' : 'not-micropython';
    } else if (!this._comm || status === 'starting' || status === 'restarting') {
      next = 'starting';
    } else if (this._cellRunning) {
      next = 'busy';
    } else {
      next = 'ready';
    }
    if (next !== this._availability) {
      this._availability = next;
      this._availabilityChanged.emit(next);
    }
  }
}
