import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { OrderBookService } from './order-book.service';

/** The HTTP face of the order book. */
@Controller('orders')
export class OrderBookController {
  constructor(private readonly book: OrderBookService) {}

  @Get()
  list() {
    return { revision: this.book.revision, orders: [...this.book.orders.values()] };
  }

  @Post()
  place(@Body() body: { id?: unknown; sku?: unknown; quantity?: unknown }) {
    return this.book.place(body);
  }

  @Delete(':id')
  @HttpCode(204)
  cancel(@Param('id') id: string): void {
    this.book.cancel(id);
  }
}
