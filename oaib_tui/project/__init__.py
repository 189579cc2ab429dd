"""The project file: schema, loader (with line numbers), prompt sources and request templates."""

from oaib_tui.project.loader import load_project
from oaib_tui.project.requests import PreparedRequest, RequestPlan, SourceLine
from oaib_tui.project.schema import LoadedProject, Project
from oaib_tui.project.template import Template

__all__ = ["LoadedProject", "PreparedRequest", "Project", "RequestPlan", "SourceLine", "Template", "load_project"]
