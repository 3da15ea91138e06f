/**
 * The board's files as a JupyterLab drive ("Board:main.py"), so that a board file opens in
 * JupyterLab's own editor and Ctrl+S writes it back through the kernel (verified, atomic).
 */
import { Contents, ServerConnection } from '@jupyterlab/services';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { BoardConnection } from './connection';

export const DRIVE = 'Board';
/** How long opening a board file waits for a MicroPython kernel's board channel: a workspace
 * restored with a board file open in an editor asks for it before any kernel has started. */
export const KERNEL_WAIT_MS = 60_000;


export class BoardDrive implements Contents.IDrive {
  readonly name = DRIVE;
  readonly serverSettings = ServerConnection.makeSettings();
  private _fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  private _modified = new Map<string, string>();
  private _kernels = new Map<string, string>(); // path -> id of the kernel it was read from
  private _disposed = false;
  /** Closes a board file's tabs, quietly, when no kernel came to read it from; resolves
   * true when none is left open (index.ts sets it). */
  closeUnread: ((path: string) => Promise<boolean>) | null = null;

  constructor(
    private _board: BoardConnection,
    private _trans: TranslationBundle = nullTranslator.load('mpkernel')
  ) {}

  private _unsupported(what: string): Promise<never> {
    return Promise.reject(
      new Error(this._trans.__('%1 is not available for board files: use the Board panel.', what))
    );
  }

  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this._fileChanged;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }
  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  /** The time the editor last saw this file: kept stable so saving raises no conflict. */
  private _stamp(path: string, fresh = false): string {
    let stamp = this._modified.get(path);
    if (!stamp || fresh) {
      stamp = new Date().toISOString();
      this._modified.set(path, stamp);
    }
    return stamp;
  }

  private _model(path: string, content: string | null, size: number): Contents.IModel {
    const stamp = this._stamp(path);
    return {
      name: path.split('/').pop() ?? path,
      path,
      type: 'file',
      format: content === null ? null : 'text',
      mimetype: 'text/plain',
      content,
      writable: true,
      created: stamp,
      last_modified: stamp,
      size
    };
  }

  async get(path: string, options?: Contents.IFetchOptions): Promise<Contents.IModel> {
    if (options?.content === false) {
      return this._model(path, null, 0);
    }
    if (!(await this._kernelReady()) && (await this.closeUnread?.(path))) {
      // The tab is gone, so JupyterLab drops this answer: no "File Load Error" dialog.
      return this._model(path, null, 0);
    }
    const result = await this._board.request('read', { path });
    if (typeof result.text !== 'string') {
      throw new Error(
        this._trans.__('%1 is binary: it opens read-only as hex from the Board panel.', path)
      );
    }
    this._kernels.set(path, this._board.kernel?.id ?? '');
    this._stamp(path, true);
    return this._model(path, result.text, result.size);
  }

  /** Until the kernel in focus has its board channel open (true), or KERNEL_WAIT_MS passed. */
  private _kernelReady(): Promise<boolean> {
    const ready = (): boolean => ['ready', 'busy'].includes(this._board.availability);
    if (ready()) {
      return Promise.resolve(true);
    }
    return new Promise<boolean>(resolve => {
      const done = (): void => {
        clearTimeout(timer);
        this._board.availabilityChanged.disconnect(check);
        resolve(ready());
      };
      const check = (): void => {
        if (ready()) {
          done();
        }
      };
      const timer = setTimeout(done, KERNEL_WAIT_MS);
      this._board.availabilityChanged.connect(check);
    });
  }

  async save(
    path: string,
    options: Partial<Contents.IModel> = {}
  ): Promise<Contents.IModel> {
    // The board a file came from is the one it is saved to, never another notebook's.
    const from = this._kernels.get(path);
    if (from !== undefined && from !== (this._board.kernel?.id ?? '')) {
      throw new Error(
        this._trans.__(
          "%1 was opened from another notebook's board: focus that notebook, then save.",
          path
        )
      );
    }
    if (options.format === 'base64') {
      throw new Error(this._trans.__('%1: only text files are saved from the editor.', path));
    }
    const result = await this._board.request('write', { path, text: String(options.content ?? '') });
    this._stamp(path, true);
    const model = this._model(path, null, result.size);
    this._fileChanged.emit({ type: 'save', oldValue: null, newValue: model });
    return model;
  }

  async delete(path: string): Promise<void> {
    await this._board.request('delete', { path });
    this._fileChanged.emit({ type: 'delete', oldValue: { path }, newValue: null });
  }

  async rename(path: string, to: string): Promise<Contents.IModel> {
    await this._board.request('rename', { path, to });
    const model = this._model(to, null, 0);
    this._fileChanged.emit({ type: 'rename', oldValue: { path }, newValue: model });
    return model;
  }

  getDownloadUrl(): Promise<string> {
    return this._unsupported(this._trans.__('A download link'));
  }
  newUntitled(): Promise<Contents.IModel> {
    return this._unsupported(this._trans.__('New untitled'));
  }
  copy(): Promise<Contents.IModel> {
    return this._unsupported(this._trans.__('Copy'));
  }
  async createCheckpoint(path: string): Promise<Contents.ICheckpointModel> {
    return { id: 'board', last_modified: this._stamp(path) };
  }
  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }
  async restoreCheckpoint(): Promise<void> {
    return;
  }
  async deleteCheckpoint(): Promise<void> {
    return;
  }
}
