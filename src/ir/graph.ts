/** @file Graph traversal over symbolic tensors. */
import type { Tensor } from "./tensor.js";

/** Post-order over everything `roots` depend on, iteratively (graphs are deep). */
export function topoSort(roots: Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const state = new Map<number, 1 | 2>();
  const stack: [Tensor, number][] = roots.map((r) => [r, 0] as [Tensor, number]).reverse();
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i === 0) {
      if (state.get(t.id) === 2) {
        stack.pop();
        continue;
      }
      state.set(t.id, 1);
    }
    if (i < t.inputs.length) {
      top[1] = i + 1;
      const child = t.inputs[i];
      if (!state.has(child.id)) stack.push([child, 0]);
      continue;
    }
    stack.pop();
    if (state.get(t.id) !== 2) {
      state.set(t.id, 2);
      order.push(t);
    }
  }
  return order;
}
