/**
 * How the tiles of a large exam are laid out: sorted (needs attention first, or by name),
 * filtered, and split into pages, plus which tiles are on screen so that the dashboard can
 * pause the video of the others. Tiles are never moved in the DOM: a moved <video> pauses,
 * so the order is CSS `order` and the pages are the `hidden` attribute.
 */
import { byId, setText } from '../shared/dom.js';

export type SortMode = 'attention' | 'name';
export type FilterMode = 'all' | 'attention' | 'offline';

/** What the grid needs to know of one tile to place it. */
export interface GridItem {
  id: string;
  element: HTMLElement;
  name: string;
  openViolations: number;
  score: number;
  flagged: boolean;
  /** The candidate raised a hand and no proctor has answered yet. */
  helpRaised: boolean;
  connected: boolean;
}

const DEFAULT_PAGE_SIZE = 24;
/** How many screens above and below the viewport still count as on screen. */
const NEAR_SCREENS = 2;
/** Re-sorting at most this often keeps tiles from jumping away from the proctor's pointer. */
const ARRANGE_EVERY_MS = 2_000;

const needsAttention = (item: GridItem) => item.helpRaised || item.openViolations > 0 || item.flagged;

/** A raised hand first, then the most open violations, the higher score, and by name. */
function byAttention(a: GridItem, b: GridItem): number {
  return (
    Number(b.helpRaised) - Number(a.helpRaised) ||
    b.openViolations - a.openViolations ||
    b.score - a.score ||
    a.name.localeCompare(b.name)
  );
}

export class TileGrid {
  readonly #items: () => GridItem[];
  readonly #onVisible: (id: string, visible: boolean) => void;
  readonly #sort = byId('tile-sort', HTMLSelectElement);
  readonly #filter = byId('tile-filter', HTMLSelectElement);
  readonly #pageSize = byId('tile-page-size', HTMLSelectElement);
  readonly #previous = byId('tile-previous', HTMLButtonElement);
  readonly #next = byId('tile-next', HTMLButtonElement);
  readonly #pageLabel = byId('tile-page', HTMLElement);
  readonly #observer: IntersectionObserver;
  readonly #visible = new Set<string>();
  /** Tiles the observer has reported on at least once; until then a tile counts as visible. */
  readonly #seen = new Set<string>();
  #page = 0;
  #timer: number | undefined;
  #arrangedAt = 0;

  /**
   * `items` lists the current tiles; `onVisible` hears when a tile comes on screen or leaves it
   * (scrolled away, on another page, filtered out).
   */
  constructor(items: () => GridItem[], onVisible: (id: string, visible: boolean) => void) {
    this.#items = items;
    this.#onVisible = onVisible;
    this.#pageSize.value = String(DEFAULT_PAGE_SIZE);
    this.#observer = new IntersectionObserver(
      (changes) => {
        for (const change of changes) {
          const id = (change.target as HTMLElement).dataset.session;
          if (!id) continue;
          const visible = change.isIntersecting;
          const wasVisible = this.isVisible(id);
          this.#seen.add(id);
          if (visible) this.#visible.add(id);
          else this.#visible.delete(id);
          if (visible !== wasVisible) this.#onVisible(id, visible);
        }
        // Two screens above and below count as in view: a small exam's tiles all play, and a
        // tile scrolled to is already playing; only a large grid's far tiles pause.
      },
      { rootMargin: `${NEAR_SCREENS * 100}% 0px` },
    );
    const rearrange = () => {
      this.#page = 0;
      this.arrange();
    };
    this.#sort.addEventListener('change', rearrange);
    this.#filter.addEventListener('change', rearrange);
    this.#pageSize.addEventListener('change', rearrange);
    this.#previous.addEventListener('click', () => this.#turn(-1));
    this.#next.addEventListener('click', () => this.#turn(1));
  }

  /** Is the tile on screen now (what the observer last said)? */
  isVisible(id: string): boolean {
    return !this.#seen.has(id) || this.#visible.has(id);
  }

  add(element: HTMLElement): void {
    this.#observer.observe(element);
    this.arrange();
  }

  remove(id: string, element: HTMLElement): void {
    this.#observer.unobserve(element);
    this.#visible.delete(id);
    this.#seen.delete(id);
    this.arrange();
  }

  /** Something that orders tiles changed (a violation, a score): arrange again soon. */
  changed(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#arrangedAt + ARRANGE_EVERY_MS - Date.now());
    this.#timer = window.setTimeout(() => this.arrange(), wait);
  }

  /** Order, filter and page the tiles now. */
  arrange(): void {
    window.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#arrangedAt = Date.now();
    const sort = this.#sort.value as SortMode;
    const filter = this.#filter.value as FilterMode;
    const size = Number(this.#pageSize.value) || DEFAULT_PAGE_SIZE;
    const items = [...this.#items()].sort(
      sort === 'name' ? (a, b) => a.name.localeCompare(b.name) : byAttention,
    );
    const shown = items.filter((item) =>
      filter === 'all' ? true : filter === 'attention' ? needsAttention(item) : !item.connected,
    );
    const pages = Math.max(1, Math.ceil(shown.length / size));
    this.#page = Math.min(this.#page, pages - 1);
    const onPage = new Set(shown.slice(this.#page * size, (this.#page + 1) * size).map((item) => item.id));
    items.forEach((item, index) => {
      item.element.style.order = String(index);
      item.element.hidden = !onPage.has(item.id);
    });
    setText(this.#pageLabel, `Page ${this.#page + 1} of ${pages} · ${shown.length} shown`);
    this.#previous.disabled = this.#page === 0;
    this.#next.disabled = this.#page >= pages - 1;
  }

  #turn(step: number): void {
    this.#page = Math.max(0, this.#page + step);
    this.arrange();
  }
}
