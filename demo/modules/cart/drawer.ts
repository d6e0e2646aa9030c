/** The cart's drawer, a lazy chunk: renders what the cart hands it, so it depends on nothing else. */

/** What the drawer shows, already formatted. */
export interface DrawerView {
  lines: Array<{ name: string; price: string }>;
  total: string;
}

/** Replaces `drawer`'s content with `view`. */
export function renderDrawer(drawer: HTMLElement, view: DrawerView): void {
  if (view.lines.length === 0) {
    drawer.textContent = 'Your cart is empty.';
    return;
  }
  const list = document.createElement('ul');
  for (const line of view.lines) {
    const li = document.createElement('li');
    li.textContent = `${line.name}: ${line.price}`;
    list.append(li);
  }
  const total = document.createElement('p');
  total.className = 'drawer-total';
  total.textContent = `Total: ${view.total}`;
  drawer.replaceChildren(list, total);
}
