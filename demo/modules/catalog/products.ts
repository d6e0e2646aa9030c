/** The demo shop's stock. */
export interface Product {
  id: string;
  name: string;
  /** In cents. */
  price: number;
  /** 1..5 stars. */
  rating: number;
}

export const PRODUCTS: readonly Product[] = [
  { id: 'mug', name: 'Canary mug', price: 1200, rating: 4 },
  { id: 'tee', name: 'Rollout T-shirt', price: 2500, rating: 5 },
  { id: 'socks', name: 'Bucket socks', price: 900, rating: 3 },
  { id: 'cap', name: 'Stable cap', price: 1800, rating: 4 },
];
