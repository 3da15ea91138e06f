/**
 * Board files: the board's filesystem as a tree with sizes, and what can be done to it.
 */
import { Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { Contents } from '@jupyterlab/services';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { BoardConnection, IProgress } from './connection';
import { DRIVE } from './drive';
import { hexDump, humanBytes } from './format';
import { Args, IEntry } from './tokens';

/** Where JupyterLab's file browser puts the paths it drags. */
const CONTENTS_MIME = 'application/x-jupyter-icontents';

/** The parts of Lumino's drag events used here. */
type LuminoDragEvent = Event & {
  mimeData?: { hasData(mime: string): boolean; getData(mime: string): unknown };
  dropAction?: string;
  proposedAction?: string;
};

export type { IEntry } from './tokens';

/** A file to upload: its path on the board and its bytes. */
export interface IUpload {
  path: string;
  data: ArrayBuffer;
}

function joinPath(folder: string, name: string): string {
  return folder ? `${folder}/${name}` : name;
}

/** A board file name as the list shows it: control and bidirectional-override characters
 * (a right-to-left override would show the name reversed) escaped, as `\u202e`. */
export function shownName(name: string): string {
  return name.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what it escapes
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

export function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', 'jp-Button jp-mod-minimal mpk-Button', label);
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

/** The files of every dropped item, folders walked (desktop drops). */
async function droppedFiles(items: DataTransferItemList): Promise<{ path: string; file: File }[]> {
  const out: { path: string; file: File }[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject)
      );
      out.push({ path: joinPath(prefix, entry.name), file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      let batch: FileSystemEntry[];
      do {
        batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
          reader.readEntries(resolve, reject)
        );
        for (const child of batch) {
          await walk(child, joinPath(prefix, entry.name));
        }
      } while (batch.length);
    }
  };
  // Take every entry (and file) now: the list is emptied once the drop handler yields.
  const dropped = Array.from(items).map(item => ({
    entry: item.webkitGetAsEntry(),
    file: item.getAsFile()
  }));
  for (const { entry, file } of dropped) {
    if (entry) {
      await walk(entry, '');
    } else if (file) {
      out.push({ path: file.name, file });
    }
  }
  return out;
}

export class FilesView extends Widget {
  private _list = el('ul', 'mpk-Files-list');
  private _progress = el('div', 'mpk-Files-progress');
  private _entries: IEntry[] = [];
  private _selected = '';
  private _shown: string | null = null; // the entries on display, as JSON

  constructor(
    private _board: BoardConnection,
    private _docs: IDocumentManager,
    private _contents: Contents.IManager,
    private _trans: TranslationBundle = nullTranslator.load('mpkernel')
  ) {
    const trans = _trans;
    super();
    this.addClass('mpk-Files');
    const bar = el('div', 'mpk-Files-toolbar');
    bar.append(
      el('span', 'mpk-Section-title', trans.__('Board files')),
      button('⟳', trans.__('Refresh the list'), () => void this.refresh()),
      button(trans.__('+ file'), trans.__('New file on the board'), () => void this._newFile()),
      button(trans.__('+ folder'), trans.__('New folder on the board'), () => void this._newFolder()),
      button('⤒', trans.__('Upload files from this computer'), () => this._pick())
    );
    this.node.append(bar, this._progress, this._list);
    this._list.tabIndex = 0;
    this.node.addEventListener('dragover', e => {
      e.preventDefault();
      this.node.classList.add('mpk-mod-dropTarget');
    });
    this.node.addEventListener('dragleave', () => this.node.classList.remove('mpk-mod-dropTarget'));
    this.node.addEventListener('drop', e => void this._onDrop(e));
    for (const type of ['lm-dragenter', 'lm-dragover']) {
      this.node.addEventListener(type, e => this._onLuminoDragOver(e));
    }
    this.node.addEventListener('lm-drop', e => void this._onLuminoDrop(e));
  }

  /** Edit text files in a dialog (Notebook 7: its documents open in another browser tab,
   * which has no kernel in focus). */
  editInDialog = false;

  get entries(): IEntry[] {
    return this._entries;
  }

  clear(message: string): void {
    this._entries = [];
    this._shown = null;
    this._list.replaceChildren(el('li', 'mpk-Files-empty', message));
  }

  async refresh(): Promise<void> {
    try {
      const result = await this._board.request('ls');
      this._entries = result.entries;
      const shown = JSON.stringify(this._entries);
      if (shown !== this._shown) {
        this._shown = shown; // an unchanged list is left alone (hover, a click under way)
        this._render();
      }
    } catch (err) {
      this.clear((err as Error).message);
    }
  }

  private _render(): void {
    if (!this._entries.some(e => e.dir && e.path === this._selected)) {
      this._selected = ''; // the selected folder is gone
    }
    const rows = this._entries.map(entry => this._row(entry));
    this._list.replaceChildren(...(rows.length ? rows : [el('li', 'mpk-Files-empty', '(empty)')]));
  }

  private _row(entry: IEntry): HTMLLIElement {
    const li = el('li', 'mpk-Files-item');
    li.dataset.path = entry.path;
    li.dataset.dir = String(entry.dir);
    const depth = entry.path.split('/').length - 1;
    const base = shownName(entry.path.split('/').pop() ?? '');
    const name = el('span', 'mpk-Files-name', (entry.dir ? '📁 ' : '') + base);
    name.style.paddingLeft = `${depth * 14}px`;
    const size = el('span', 'mpk-Files-size', entry.dir ? '' : humanBytes(entry.size));
    const actions = el('span', 'mpk-Files-actions');
    if (!entry.dir) {
      actions.append(
        button('⤓', this._trans.__('Download to the Jupyter working folder'), () => void this._download(entry))
      );
    }
    actions.append(
      button('✎', this._trans.__('Rename'), () => void this._rename(entry)),
      button('🗑', this._trans.__('Delete'), () => void this._delete(entry))
    );
    li.append(name, size, actions);
    actions.addEventListener('click', event => event.stopPropagation());
    li.addEventListener('click', () => {
      this._selected = entry.dir ? entry.path : '';
      for (const other of this._list.querySelectorAll('.mpk-mod-selected')) {
        other.classList.remove('mpk-mod-selected');
      }
      li.classList.add('mpk-mod-selected');
    });
    if (!entry.dir) {
      li.addEventListener('dblclick', () => void this.open(entry.path));
    }
    return li;
  }

  /** Open a board file: text in JupyterLab's editor (saved back to the board), else hex. */
  async open(path: string): Promise<void> {
    try {
      const result = await this._board.request('read', { path });
      if (typeof result.text === 'string') {
        if (this.editInDialog) {
          await this._editInDialog(path, result.text);
        } else {
          this._docs.openOrReveal(`${DRIVE}:${path}`);
        }
        return;
      }
      const bytes = Uint8Array.from(atob(String(result.base64)), c => c.charCodeAt(0));
      const pre = el('pre', 'mpk-Hex', hexDump(bytes));
      const body = new Widget({ node: pre });
      await showDialog({
        title: this._trans.__('%1 (binary, %2, read-only)', path, humanBytes(bytes.length)),
        body,
        buttons: [Dialog.okButton({ label: this._trans.__('Close') })]
      });
    } catch (err) {
      Notification.error((err as Error).message, { autoClose: 5000 });
    }
  }

  private async _editInDialog(path: string, text: string): Promise<void> {
    const area = el('textarea', 'jp-mod-styled mpk-Editor');
    area.value = text;
    area.spellcheck = false;
    const result = await showDialog({
      title: this._trans.__('%1 (on the board)', path),
      body: new Widget({ node: area }),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: this._trans.__('Save to board') })]
    });
    if (result.button.accept && area.value !== text) {
      await this._run('write', { path, text: area.value }, this._trans.__('Saved %1', path));
    }
  }

  /** Upload files (paths relative to the board's root), refusing what does not fit. */
  async upload(files: IUpload[]): Promise<void> {
    const total = files.reduce((n, f) => n + f.data.byteLength, 0);
    let before = 0;
    try {
      for (const file of files) {
        const progress = (p: IProgress): void =>
          this._showProgress(file.path, before + p.done, total);
        this._showProgress(file.path, before, total);
        await this._board.request(
          'write',
          { path: file.path, parents: true },
          { buffers: [file.data], progress }
        );
        before += file.data.byteLength;
      }
      Notification.success(
        this._trans._n(
          'Uploaded %1 file (%2).',
          'Uploaded %1 files (%2).',
          files.length,
          humanBytes(total)
        ),
        { autoClose: 3000 }
      );
    } catch (err) {
      Notification.error((err as Error).message, { autoClose: 8000 });
    } finally {
      this._progress.textContent = '';
      await this.refresh();
    }
  }

  private _showProgress(path: string, done: number, total: number): void {
    const pct = total ? Math.floor((100 * done) / total) : 100;
    this._progress.textContent = this._trans.__(
      '%1: %2 of %3 (%4%)',
      path,
      humanBytes(done),
      humanBytes(total),
      pct
    );
  }

  /** The board folder a drop lands in: the folder (or the file's folder) under the pointer,
   * else the top. */
  private _target(event: Event): string {
    const row = (event.target as HTMLElement).closest('.mpk-Files-item') as HTMLElement | null;
    const path = row?.dataset.path ?? '';
    if (row?.dataset.dir === 'true') {
      return path;
    }
    return path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  }

  private async _onDrop(event: DragEvent): Promise<void> {
    event.preventDefault();
    this.node.classList.remove('mpk-mod-dropTarget');
    if (!event.dataTransfer) {
      return;
    }
    const folder = this._target(event);
    const dropped = await droppedFiles(event.dataTransfer.items);
    const files = await Promise.all(
      dropped.map(async d => ({ path: joinPath(folder, d.path), data: await d.file.arrayBuffer() }))
    );
    await this.upload(files);
  }

  // The file browser offers its drags as "move"; accepting that only copies to the board
  // (the file browser leaves moving to the drop target).
  private _onLuminoDragOver(event: Event): void {
    const drag = event as LuminoDragEvent;
    if (drag.mimeData?.hasData(CONTENTS_MIME)) {
      event.preventDefault();
      event.stopPropagation();
      drag.dropAction = drag.proposedAction ?? 'move';
    }
  }

  private async _onLuminoDrop(event: Event): Promise<void> {
    const drag = event as LuminoDragEvent;
    const paths = drag.mimeData?.getData(CONTENTS_MIME) as string[] | undefined;
    if (!paths) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    drag.dropAction = drag.proposedAction ?? 'move';
    await this.uploadFromJupyter(paths, this._target(event));
  }

  /** Upload files (or folders) from the Jupyter server's file tree to a board folder. */
  async uploadFromJupyter(paths: string[], folder = ''): Promise<void> {
    const files: IUpload[] = [];
    const collect = async (path: string, prefix: string): Promise<void> => {
      const model = await this._contents.get(path, { content: true, format: 'base64' });
      if (model.type === 'directory') {
        for (const child of model.content as Contents.IModel[]) {
          await collect(child.path, joinPath(prefix, model.name));
        }
        return;
      }
      const fetched =
        model.format === 'base64'
          ? model
          : await this._contents.get(path, { content: true, format: 'base64', type: 'file' });
      const bytes = Uint8Array.from(atob(String(fetched.content).replace(/\s/g, '')), c =>
        c.charCodeAt(0)
      );
      files.push({ path: joinPath(prefix, model.name), data: bytes.buffer });
    };
    try {
      for (const path of paths) {
        await collect(path, folder);
      }
    } catch (err) {
      Notification.error(
        this._trans.__('Cannot read %1: %2', paths.join(', '), (err as Error).message)
      );
      return;
    }
    await this.upload(files);
  }

  private _pick(): void {
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.addEventListener('change', async () => {
      const picked = Array.from(input.files ?? []);
      const files = await Promise.all(
        picked.map(async f => ({ path: joinPath(this._selected, f.name), data: await f.arrayBuffer() }))
      );
      await this.upload(files);
    });
    input.click();
  }

  private async _ask(title: string, value: string): Promise<string | null> {
    const input = document.createElement('input');
    input.value = value;
    input.className = 'jp-mod-styled mpk-Input';
    const result = await showDialog({
      title,
      body: new Widget({ node: input }),
      buttons: [Dialog.cancelButton(), Dialog.okButton()],
      focusNodeSelector: 'input'
    });
    const text = input.value.trim();
    return result.button.accept && text ? text : null;
  }

  private async _run<K extends 'write' | 'mkdir' | 'rename' | 'delete'>(
    op: K,
    args: Args<K>,
    done: string
  ): Promise<void> {
    try {
      await this._board.request(op, args);
      Notification.success(done, { autoClose: 2500 });
    } catch (err) {
      Notification.error((err as Error).message, { autoClose: 8000 });
    }
    await this.refresh();
  }

  private async _newFile(): Promise<void> {
    const path = await this._ask(
      this._trans.__('New file on the board'),
      joinPath(this._selected, 'untitled.py')
    );
    if (path) {
      await this._run('write', { path, text: '' }, this._trans.__('Created %1', path));
      await this.open(path);
    }
  }

  private async _newFolder(): Promise<void> {
    const path = await this._ask(
      this._trans.__('New folder on the board'),
      joinPath(this._selected, 'lib')
    );
    if (path) {
      await this._run('mkdir', { path }, this._trans.__('Created %1/', path));
    }
  }

  private async _rename(entry: IEntry): Promise<void> {
    const to = await this._ask(this._trans.__('Rename %1 to', entry.path), entry.path);
    if (to && to !== entry.path) {
      await this._run(
        'rename',
        { path: entry.path, to },
        this._trans.__('Renamed %1 to %2', entry.path, to)
      );
    }
  }

  private async _delete(entry: IEntry): Promise<void> {
    const body = entry.dir
      ? this._trans.__('Delete the folder %1 and everything in it? This cannot be undone.', entry.path)
      : this._trans.__('Delete %1? This cannot be undone.', entry.path);
    const result = await showDialog({
      title: this._trans.__('Delete from the board'),
      body,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: this._trans.__('Delete') })]
    });
    if (result.button.accept) {
      await this._run('delete', { path: entry.path }, this._trans.__('Deleted %1', entry.path));
    }
  }

  private async _download(entry: IEntry): Promise<void> {
    try {
      const result = await this._board.request(
        'download',
        { path: entry.path },
        { progress: p => this._showProgress(entry.path, p.done, p.total) }
      );
      Notification.success(this._trans.__('Downloaded %1 to %2', entry.path, result.local), {
        autoClose: 3000
      });
    } catch (err) {
      void showErrorMessage(this._trans.__('Download failed'), (err as Error).message);
    } finally {
      this._progress.textContent = '';
    }
  }
}
