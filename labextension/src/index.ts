/**
 * mpkernel's extension: the MicroPython board of the kernel in focus, as a workspace.
 */
import {
  IRouter,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, ISessionContext, Notification } from '@jupyterlab/apputils';
import { ConsolePanel, IConsoleTracker } from '@jupyterlab/console';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IEditorTracker } from '@jupyterlab/fileeditor';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';

import { BoardConnection } from './connection';
import { BoardConsole } from './console';
import { BoardDrive, DRIVE } from './drive';
import { BoardPanel } from './panel';
import { BoardStatus } from './status';
import { IBoardConnection } from './tokens';
import logoSvg from '../style/logo.svg';

const COMMANDS = {
  panel: 'mpkernel:open-board-panel',
  console: 'mpkernel:open-board-console',
  run: 'mpkernel:run-on-board',
  upload: 'mpkernel:upload-to-board',
  boardUrl: 'mpkernel:board-file-url'
};
/** The key under which the workspace keeps the path of the notebook or console followed. */
const FOLLOWED = 'mpkernel:followed';

const plugin: JupyterFrontEndPlugin<IBoardConnection> = {
  id: 'mpkernel-labextension:plugin',
  description: 'The MicroPython board of the kernel in focus: state, files, console.',
  autoStart: true,
  provides: IBoardConnection,
  requires: [IDocumentManager],
  optional: [
    INotebookTracker,
    IConsoleTracker,
    IStatusBar,
    IEditorTracker,
    IDefaultFileBrowser,
    ICommandPalette,
    ITranslator,
    ISettingRegistry,
    IRouter,
    IStateDB
  ],
  activate: (
    app: JupyterFrontEnd,
    docs: IDocumentManager,
    notebooks: INotebookTracker | null,
    consoles: IConsoleTracker | null,
    statusBar: IStatusBar | null,
    editors: IEditorTracker | null,
    fileBrowser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    settings: ISettingRegistry | null,
    router: IRouter | null,
    state: IStateDB | null
  ): IBoardConnection => {
    const trans = (translator ?? nullTranslator).load('mpkernel');
    const icon = new LabIcon({ name: 'mpkernel:logo', svgstr: logoSvg });
    const board = new BoardConnection(trans);
    const contents = app.serviceManager.contents;
    const drive = new BoardDrive(board, trans);
    contents.addDrive(drive);
    // A restored board file that no kernel came to read closes quietly, with a note.
    drive.closeUnread = async path => {
      await docs.closeFile(`${DRIVE}:${path}`);
      const closed = docs.findWidget(`${DRIVE}:${path}`) === undefined;
      if (closed) {
        Notification.info(
          trans.__('%1 was closed: no MicroPython kernel to read it from. Open it again from the Board panel.', path),
          { autoClose: 8000 }
        );
      }
      return closed;
    };
    // JupyterLab keeps the current document in the page address (lab/tree/Board:main.py);
    // on reload its tree route asks the file browser to open that path, and no file browser
    // shows the Board drive ("Cannot open: ... reading 'model'"). The layout restorer reopens
    // the board file's tab, so that route stops here for Board paths.
    if (router) {
      app.commands.addCommand(COMMANDS.boardUrl, { execute: () => router.stop });
      router.register({
        command: COMMANDS.boardUrl,
        pattern: new RegExp(`^/(lab|doc)(/workspaces/[\\w-]+)?/tree/${DRIVE}(:|%3A)`, 'i'),
        rank: 50 // after the workspace's state loads (30), before the tree route (100)
      });
    }

    // Follow the notebook or console in focus (a board file's editor keeps the last one);
    // when the last one closes, the panel says there is none. The workspace keeps which one
    // was followed: a reload restores notebooks in no fixed order and makes the last one
    // restored current, and a restored board file must load from the board it came from.
    let restoring = true;
    const follow = (context: ISessionContext | null | undefined): void => {
      const followed =
        context ??
        notebooks?.currentWidget?.sessionContext ??
        consoles?.currentWidget?.sessionContext ??
        null;
      board.follow(followed);
      if (state && followed && !restoring) {
        state
          .save(FOLLOWED, followed.path)
          .catch(reason => window.console.warn(`mpkernel: not kept in the workspace: ${reason}`));
      }
    };
    notebooks?.currentChanged.connect((_, panel) => follow(panel?.sessionContext));
    consoles?.currentChanged.connect((_, panel) => follow(panel?.sessionContext));
    // A tab clicked is followed even when its tracker already counts it current (after a
    // restore, the notebook followed need not be the tracker's current one).
    app.shell.currentChanged?.connect((_, { newValue }) => {
      const widget = newValue as NotebookPanel | ConsolePanel | null;
      if (widget && (notebooks?.has(widget) || consoles?.has(widget))) {
        follow(widget.sessionContext);
      }
    });
    follow(null);
    void app.restored.then(async () => {
      const path = await state?.fetch(FOLLOWED).catch(() => undefined);
      const same = (w: NotebookPanel | ConsolePanel): boolean => w.sessionContext.path === path;
      restoring = false;
      follow((notebooks?.find(same) ?? consoles?.find(same))?.sessionContext);
    });

    // Kept while closed (closing only detaches it), so nothing printed meanwhile is lost.
    const console = new BoardConsole(board, trans);
    console.title.icon = icon;
    const openConsole = (): void => {
      if (!console.isAttached) {
        app.shell.add(console, 'main', { mode: 'split-bottom' });
      }
      app.shell.activateById(console.id);
    };

    const panel = new BoardPanel(board, docs, contents, icon, openConsole, trans);
    panel.files.editInDialog = app.name !== 'JupyterLab';
    app.shell.add(panel, 'left', { rank: 900 });

    app.commands.addCommand(COMMANDS.panel, {
      label: trans.__('Show the Board panel'),
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(COMMANDS.console, {
      label: trans.__('Board console'),
      execute: openConsole
    });
    app.commands.addCommand(COMMANDS.run, {
      label: trans.__('Run on board'),
      caption: trans.__('Run this file as a cell in the focused MicroPython kernel'),
      isEnabled: () => board.availability === 'ready' && !!editors?.currentWidget,
      execute: async () => {
        const widget = editors?.currentWidget;
        if (!widget) {
          return;
        }
        openConsole();
        console.append(`\n>>> run ${widget.context.path}\n`);
        try {
          await board.runCode(widget.content.model.sharedModel.getSource());
        } catch (err) {
          Notification.error((err as Error).message, { autoClose: 5000 });
        }
      }
    });
    app.commands.addCommand(COMMANDS.upload, {
      label: trans.__('Upload to board'),
      caption: trans.__('Copy to the board of the focused MicroPython kernel'),
      isEnabled: () => board.availability === 'ready' && board.state.connected,
      execute: async () => {
        const paths = fileBrowser ? Array.from(fileBrowser.selectedItems()).map(m => m.path) : [];
        if (paths.length) {
          await panel.files.uploadFromJupyter(paths);
        }
      }
    });
    // Menus and context menus are declared in schema/plugin.json.
    for (const command of Object.values(COMMANDS)) {
      palette?.addItem({ command, category: trans.__('MicroPython') });
    }

    if (statusBar) {
      const item = new BoardStatus(board, () => app.shell.activateById(panel.id), trans);
      statusBar.registerStatusItem('mpkernel:board-status', {
        item,
        align: 'left',
        rank: 4,
        isActive: () => true
      });
    }

    if (settings) {
      const apply = (s: ISettingRegistry.ISettings): void => {
        panel.refreshDelay = s.get('refreshDelay').composite as number;
      };
      settings
        .load(plugin.id)
        .then(s => {
          apply(s);
          s.changed.connect(apply);
        })
        .catch(reason => window.console.warn(`mpkernel: settings not loaded: ${reason}`));
    }
    return board;
  }
};

export default plugin;
