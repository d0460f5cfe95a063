import { render } from 'preact';
import { App } from './App';
import { Store } from './store';
import { httpApi, takeToken } from './transport/http';
import './style.css';

function boot() {
  const root = document.getElementById('app')!;
  const token = takeToken();
  if (!token) {
    root.innerHTML = `<div class="empty-state"><h2>Baton</h2><p>Add <code>#token=&lt;token&gt;</code> to the address: the token is in the
      <code>token</code> file of Baton's data folder. It stays in this tab and is never sent in a URL.</p></div>`;
    return;
  }
  const store = new Store(httpApi(location.origin, token));
  (window as any).__baton = store; // for tests and debugging
  render(<App store={store} />, root);
  store.start();
}

boot();
