/** The status bar item: board · port · free heap, or "not connected"; busy while in use. */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { BoardConnection } from './connection';
import { humanBytes } from './format';

export class BoardStatus extends Widget {
  constructor(
    private _board: BoardConnection,
    onClick: () => void,
    private _trans: TranslationBundle = nullTranslator.load('mpkernel')
  ) {
    super();
    this.addClass('mpk-Status');
    this.node.title = _trans.__('MicroPython board: click to open the Board panel');
    this.node.addEventListener('click', onClick);
    _board.stateChanged.connect(() => this._update());
    _board.availabilityChanged.connect(() => this._update());
    this._update();
  }

  private _update(): void {
    const availability = this._board.availability;
    const s = this._board.state;
    this.setHidden(availability === 'no-kernel' || availability === 'not-micropython');
    const parts: string[] = [];
    if (!s.connected) {
      parts.push(this._trans.__('Board: not connected'));
    } else {
      parts.push(
        s.virtual ? this._trans.__('virtual board') : String(s.machine || this._trans.__('board'))
      );
      parts.push(String(s.port));
      if (s.free_heap !== undefined) {
        parts.push(this._trans.__('%1 free', humanBytes(s.free_heap)));
      }
    }
    const busy = availability === 'busy' || this._board.transferring;
    this.node.textContent = parts.join(' · ') + (busy ? this._trans.__(' (busy)') : '');
    this.node.classList.toggle('mpk-mod-busy', busy);
  }
}
