// Merged into JupyterLab's extension build: module ids named by relative path, so that the
// bundle is the same wherever the repository is checked out (the check in tests/ relies on it).
module.exports = {
  optimization: { moduleIds: 'named' }
};
