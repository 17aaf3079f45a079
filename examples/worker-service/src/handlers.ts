import {
  defineHandler,
  PermanentStepError,
  RetryableStepError,
  type StepHandlerContext,
  type StepHandlerDefinition,
} from 'tasker/worker';

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** The task context of shop/fulfil_order (templates/fulfil-order.yaml validates it). */
export interface Order {
  orderId: string;
  items: OrderItem[];
  /** For trying retries out: the payment provider is busy on the first attempt. */
  paymentBusyOnce?: boolean;
}

/** What validate returns; its dependents read it from dependencyResults.validate. */
export interface ValidatedOrder {
  orderId: string;
  totalCents: number;
  units: number;
}

/** The stock this example sells from; a real service would ask its inventory. */
export const STOCK: Readonly<Record<string, number>> = { 'tea-green': 40, 'tea-black': 25, mug: 5 };

const order = (ctx: StepHandlerContext) => ctx.context as unknown as Order;
const validated = (ctx: StepHandlerContext) => ctx.dependencyResults.validate as ValidatedOrder;

export const validateOrder = defineHandler('shop.validate_order', (ctx): ValidatedOrder => {
  const { orderId, items } = order(ctx);
  const unknown = items.filter((item) => !(item.sku in STOCK)).map((item) => item.sku);
  // Retrying cannot make an unknown product known: fail the step (and the task) at once.
  if (unknown.length > 0) throw new PermanentStepError(`unknown products: ${unknown.join(', ')}`);
  return {
    orderId,
    totalCents: items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
    units: items.reduce((sum, item) => sum + item.quantity, 0),
  };
});

export const reserveStock = defineHandler('shop.reserve_stock', (ctx) => {
  const short = order(ctx).items.filter((item) => item.quantity > (STOCK[item.sku] ?? 0));
  if (short.length > 0) {
    throw new PermanentStepError(`not enough stock: ${short.map((item) => item.sku).join(', ')}`);
  }
  return { reserved: validated(ctx).units };
});

export const chargePayment = defineHandler('shop.charge_payment', (ctx) => {
  if (order(ctx).paymentBusyOnce && ctx.attempt === 1) {
    // Worth another try: the template allows 3 attempts, and the hint sets the delay.
    throw new RetryableStepError('payment provider busy', 100);
  }
  const { orderId, totalCents } = validated(ctx);
  return { paymentId: `pay-${orderId}-${ctx.attempt}`, chargedCents: totalCents };
});

// A handler sees the results of its direct dependencies only: ship reads the order id from the
// task context, not from validate.
export const shipOrder = defineHandler('shop.ship_order', (ctx) => {
  const payment = ctx.dependencyResults.charge_payment as { paymentId: string };
  return { shipmentId: `ship-${order(ctx).orderId}`, paymentId: payment.paymentId };
});

export const HANDLERS: readonly StepHandlerDefinition[] = [
  validateOrder,
  reserveStock,
  chargePayment,
  shipOrder,
];
