import { render } from 'preact';
import { App } from './App';
import { Store, setNotifier } from './store';
import type { Api } from './transport/api';
import { httpApi, takeToken } from './transport/http';
import { isDesktop, onCloseRequested, reportPainted, tauriApi } from './transport/tauri';
import { isActive } from './types';
import './style.css';

async function desktopNotifier() {
  const { isPermissionGranted, requestPermission, sendNotification } = await import('@tauri-apps/plugin-notification');
  let granted = await isPermissionGranted().catch(() => false);
  return (title: string, body: string) => {
    (async () => {
      if (!granted) granted = (await requestPermission()) === 'granted';
      if (granted) sendNotification({ title, body });
    })().catch(() => {});
  };
}

async function boot() {
  const root = document.getElementById('app')!;
  let api: Api;
  if (isDesktop()) {
    api = await tauriApi();
    setNotifier(await desktopNotifier());
  } else {
    const token = takeToken();
    if (!token) {
      root.innerHTML = `<div class="empty-state"><h2>Baton</h2><p>Add <code>#token=&lt;token&gt;</code> to the address: the token is in the
        <code>token</code> file of Baton's data folder. It stays in this tab and is never sent in a URL.</p></div>`;
      return;
    }
    api = httpApi(location.origin, token);
  }
  const store = new Store(api);
  (window as any).__baton = store; // for tests and debugging
  if (isDesktop()) onCloseRequested(() => Object.values(store.state.sessions).filter(isActive).length);
  render(<App store={store} />, root);
  if (isDesktop()) reportPainted();
  store.start();
}

boot();
