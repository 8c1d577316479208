import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { CheckpointHealthIndicator } from 'checkpointable/nestjs';

/**
 * `GET /health`: the checkpoint storage and the latest automatic save, in the shape
 * `@nestjs/terminus` reads (an application with terminus passes `isHealthy` to its
 * `HealthCheckService`); 503 when the storage is down or the latest save failed.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly checkpoints: CheckpointHealthIndicator) {}

  @Get()
  async check() {
    const result = await this.checkpoints.isHealthy('checkpoints');
    if (result.checkpoints.status === 'down') throw new ServiceUnavailableException(result);
    return result;
  }
}
