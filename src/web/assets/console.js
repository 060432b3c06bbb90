// The console's only script: keeps a page live from the server-sent events named in
// <body data-live="…">. The server sends ready, escaped HTML fragments; this swaps them in.

(() => {
  const url = document.body.dataset.live;
  if (!url || !('EventSource' in window)) return;
  const events = new EventSource(url);
  const swap = (id, markup) => {
    const element = document.getElementById(id);
    if (element) element.outerHTML = markup;
    return element !== null;
  };
  events.addEventListener('job', (event) => {
    const update = JSON.parse(event.data);
    if (update.row && !swap(`job-${update.jobId}`, update.row)) {
      const list = document.getElementById('jobs-list');
      if (list) list.insertAdjacentHTML('afterbegin', update.row);
      document.getElementById('jobs-empty')?.remove();
    }
    if (update.card) swap('job-card', update.card);
    if (update.log) swap('job-log', update.log);
  });
  window.addEventListener('pagehide', () => events.close());
})();
