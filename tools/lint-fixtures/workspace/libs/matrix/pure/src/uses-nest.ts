// Broken on purpose: libs/matrix importing Nest.
import { Injectable } from '@nestjs/common';
export const decorator = Injectable;
