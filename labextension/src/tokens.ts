/**
 * The typed contract of the `mpkernel.board` comm (one request map, mirrored by
 * `mpkernel/extension/wire.py`) and the token other extensions use to reach the board.
 */
import { Kernel } from '@jupyterlab/services';
import { JSONObject, Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** What the kernel says about its board (the `state` event and the `status` request). */
export interface IBoardState {
  connected: boolean;
  port?: string;
  kind?: string;
  virtual?: boolean;
  firmware?: string;
  machine?: string;
  free_heap?: number;
  free_flash?: number;
  total_flash?: number;
  provenance?: JSONObject;
}

/** A serial port the kernel sees. */
export interface IPort {
  device: string;
  usb_id: string;
  description: string;
  known_as: string;
}

/** A file or folder on the board. */
export interface IEntry {
  path: string;
  dir: boolean;
  size: number;
}

/** Each request: the arguments it takes and the result it resolves with. */
export interface IRequests {
  status: { args: Record<string, never>; result: IBoardState };
  ports: { args: Record<string, never>; result: { ports: IPort[] } };
  connect: { args: { target: string; baud?: number }; result: IBoardState };
  disconnect: { args: Record<string, never>; result: IBoardState };
  reset: { args: { hard?: boolean }; result: IBoardState & { printed: string } };
  ls: { args: { path?: string }; result: { entries: IEntry[] } };
  read: {
    args: { path: string; binary?: boolean };
    result: { path: string; size: number; text?: string; base64?: string };
  };
  write: {
    args: { path: string; text?: string; parents?: boolean };
    result: { path: string; size: number; seconds: number; verified: string };
  };
  download: {
    args: { path: string; dest?: string };
    result: { path: string; local: string; size: number };
  };
  mkdir: { args: { path: string }; result: { path: string } };
  rename: { args: { path: string; to: string }; result: { path: string; to: string } };
  delete: { args: { path: string }; result: { path: string; removed: number } };
}

export type Op = keyof IRequests;
export type Args<K extends Op> = IRequests[K]['args'];
export type Result<K extends Op> = IRequests[K]['result'];

/** A request's arguments and options: the arguments may be left out when none is required. */
export type RequestParams<K extends Op> =
  Record<string, never> extends Args<K>
    ? [args?: Args<K>, options?: IRequestOptions]
    : [args: Args<K>, options?: IRequestOptions];

/** The kernel's answer to one request. */
export type IReply =
  | { id: number; ok: true; result: Result<Op> }
  | { id: number; ok: false; error: string; busy: boolean };

/** What the kernel pushes to every open panel. */
export type IEvent =
  | { event: 'state'; state: IBoardState }
  | { event: 'output'; text: string }
  | { event: 'reset'; hard: boolean }
  | { event: 'busy' }
  | { event: 'idle' }
  | { event: 'progress'; id: number; done: number; total: number };

/** Any message of the `mpkernel.board` comm from the kernel. */
export type IMessage = IReply | IEvent;

/** Whether the focused kernel can be used now. */
export type Availability = 'no-kernel' | 'not-micropython' | 'starting' | 'busy' | 'ready';

export interface IProgress {
  done: number;
  total: number;
}

export interface IRequestOptions {
  buffers?: ArrayBuffer[];
  progress?: (p: IProgress) => void;
}

/** The board of the kernel in focus, as other extensions see it. */
export interface IBoardConnection {
  readonly state: IBoardState;
  readonly availability: Availability;
  readonly transferring: boolean;
  readonly kernel: Kernel.IKernelConnection | null;
  readonly stateChanged: ISignal<IBoardConnection, IBoardState>;
  readonly availabilityChanged: ISignal<IBoardConnection, Availability>;
  readonly output: ISignal<IBoardConnection, string>;
  readonly reset: ISignal<IBoardConnection, boolean>;
  /** Send a request; resolves with its result, rejects with a BoardRequestError. */
  request<K extends Op>(op: K, args?: Args<K>, options?: IRequestOptions): Promise<Result<K>>;
  /** Run code as a cell in the focused kernel; its output goes to the `output` signal. */
  runCode(code: string): Promise<void>;
}

export const IBoardConnection = new Token<IBoardConnection>(
  'mpkernel-labextension:IBoardConnection',
  'The MicroPython board of the kernel in focus: its state, requests and output.'
);
