import { Checkpointable, CheckpointField } from 'checkpointable';

/** One order of the book: what it is for and when it was placed. */
@Checkpointable({ name: 'nest-app.Order' })
export class Order {
  @CheckpointField() id!: string;
  @CheckpointField() sku!: string;
  @CheckpointField() quantity!: number;
  @CheckpointField() placedAt!: Date;
}
