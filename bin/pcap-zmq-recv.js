#!/usr/bin/env node
import '../dist/lib/cli/recv.js'
