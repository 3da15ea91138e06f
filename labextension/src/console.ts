/** The Board console: what the board prints between cells, in a bounded buffer. */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { BoardConnection } from './connection';
import { button } from './files';

/** Characters kept; older text is dropped from the top. */
export const MAX_CHARS = 100_000;

export class BoardConsole extends Widget {
  private _text = '';
  private _pre = document.createElement('pre');

  constructor(board: BoardConnection, trans: TranslationBundle = nullTranslator.load('mpkernel')) {
    super();
    this.id = 'mpkernel-board-console';
    this.addClass('mpk-Console');
    this.title.label = trans.__('Board console');
    this.title.closable = true;
    const bar = document.createElement('div');
    bar.className = 'mpk-Row';
    bar.append(button(trans.__('Clear'), trans.__('Clear the console'), () => this.clear()));
    this._pre.className = 'mpk-Console-text';
    this.node.append(bar, this._pre);
    board.output.connect((_, text) => this.append(text));
  }

  get text(): string {
    return this._text;
  }

  append(text: string): void {
    this._text = (this._text + text).slice(-MAX_CHARS);
    const atEnd = this._pre.scrollTop + this._pre.clientHeight >= this._pre.scrollHeight - 4;
    this._pre.textContent = this._text;
    if (atEnd) {
      this._pre.scrollTop = this._pre.scrollHeight;
    }
  }

  clear(): void {
    this._text = '';
    this._pre.textContent = '';
  }
}
