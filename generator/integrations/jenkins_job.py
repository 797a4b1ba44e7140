"""Jenkins job definitions for a model repository: config.xml built as a tree, compared as a tree.

No Jenkins client here: generator/integrations/jenkins.py sends what this module builds, for
`mlopsgen jenkins apply`. Every value goes into the XML through ElementTree, so `&`, `<` and quotes in a job
name or repository URL are escaped by construction, never spliced into markup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from generator.errors import UserError
from generator.frozen import frozen

SCRIPT_PATH = "Jenkinsfile"
RETRAIN_SCRIPT_PATH = "Jenkinsfile.retrain"  # generator.render.targets.jenkins renders it
PIPELINE_ROOT = "flow-definition"
MULTIBRANCH_ROOT = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
_MULTIBRANCH_FACTORY = "org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory"
# Jenkins.checkGoodName: these may not appear in an item name
_UNSAFE_NAME_CHARACTERS = "?*/\\%!@#$^&|<>[]:;"


@frozen
class JobSettings:
    name: str  # the job's own name, without folders
    folders: tuple[str, ...]  # enclosing folders, outermost first
    repo_url: str  # the model repository holding the Jenkinsfile
    branch: str  # the branch a Pipeline job builds (ignored by multibranch jobs)
    credentials_id: str | None  # Jenkins credentials used to clone the repository
    multibranch: bool
    model: str  # metadata.name of the spec
    script_path: str = SCRIPT_PATH  # Jenkinsfile, or Jenkinsfile.retrain for the continuous-training job

    @property
    def full_name(self) -> str:
        return "/".join((*self.folders, self.name))

    @property
    def kind(self) -> str:
        return "multibranch" if self.multibranch else "pipeline"

    @property
    def root_tag(self) -> str:
        return MULTIBRANCH_ROOT if self.multibranch else PIPELINE_ROOT


def check_item_name(name: str, what: str) -> None:
    """Refuse a job or folder name Jenkins would refuse, before any request is sent."""
    if not name.strip():
        raise UserError(f"the {what} name is empty")
    if name.strip() in (".", ".."):
        raise UserError(f"the {what} name {name!r} is not allowed by Jenkins")
    bad = sorted({c for c in name if c in _UNSAFE_NAME_CHARACTERS or ord(c) < 32})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        hint = "use --folder for each enclosing folder" if "/" in bad else \
            f"Jenkins does not allow any of {_UNSAFE_NAME_CHARACTERS} in item names"
        raise UserError(f"the {what} name {name!r} contains characters Jenkins refuses: {shown}", hint)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _description(settings: JobSettings) -> str:
    what = "Continuous training" if settings.script_path == RETRAIN_SCRIPT_PATH else "CI"
    return (f"{what} for model {settings.model}: job {settings.full_name}, built from {settings.repo_url}. "
            "Managed by `mlopsgen jenkins apply`; changes made here are overwritten.")


def pipeline_config(settings: JobSettings) -> ET.Element:
    """A Pipeline job running the repository's Jenkinsfile from one branch (lightweight checkout)."""
    root = ET.Element(PIPELINE_ROOT, {"plugin": "workflow-job"})
    _sub(root, "description", _description(settings))
    _sub(root, "keepDependencies", "false")
    _sub(root, "properties")
    definition = _sub(root, "definition", **{"class": "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition",
                                             "plugin": "workflow-cps"})
    scm = _sub(definition, "scm", **{"class": "hudson.plugins.git.GitSCM", "plugin": "git"})
    _sub(scm, "configVersion", "2")
    remote = _sub(_sub(scm, "userRemoteConfigs"), "hudson.plugins.git.UserRemoteConfig")
    _sub(remote, "url", settings.repo_url)
    if settings.credentials_id:
        _sub(remote, "credentialsId", settings.credentials_id)
    branch = _sub(_sub(scm, "branches"), "hudson.plugins.git.BranchSpec")
    _sub(branch, "name", f"*/{settings.branch}")
    _sub(scm, "doGenerateSubmoduleConfigurations", "false")
    _sub(scm, "extensions")
    _sub(definition, "scriptPath", settings.script_path)
    _sub(definition, "lightweight", "true")
    _sub(root, "triggers")
    _sub(root, "disabled", "false")
    return root


def multibranch_config(settings: JobSettings) -> ET.Element:
    """A multibranch project discovering every branch of the repository that has a Jenkinsfile."""
    root = ET.Element(MULTIBRANCH_ROOT, {"plugin": "workflow-multibranch"})
    _sub(root, "description", _description(settings))
    _sub(root, "properties")
    sources = _sub(root, "sources", **{"class": "jenkins.branch.MultiBranchProject$BranchSourceList",
                                       "plugin": "branch-api"})
    branch_source = _sub(_sub(sources, "data"), "jenkins.branch.BranchSource")
    source = _sub(branch_source, "source", **{"class": "jenkins.plugins.git.GitSCMSource", "plugin": "git"})
    _sub(source, "id", "mlopsgen")  # stable, so Jenkins keeps the branches' history across updates
    _sub(source, "remote", settings.repo_url)
    if settings.credentials_id:
        _sub(source, "credentialsId", settings.credentials_id)
    _sub(_sub(source, "traits"), "jenkins.plugins.git.traits.BranchDiscoveryTrait")
    strategy = _sub(branch_source, "strategy", **{"class": "jenkins.branch.DefaultBranchPropertyStrategy"})
    _sub(strategy, "properties", **{"class": "empty-list"})
    _sub(sources, "owner", **{"class": MULTIBRANCH_ROOT, "reference": "../.."})
    factory = _sub(root, "factory", **{"class": _MULTIBRANCH_FACTORY})
    _sub(factory, "owner", **{"class": MULTIBRANCH_ROOT, "reference": "../.."})
    _sub(factory, "scriptPath", settings.script_path)
    return root


def config_xml(settings: JobSettings) -> str:
    root = multibranch_config(settings) if settings.multibranch else pipeline_config(settings)
    ET.indent(root, space="  ")
    return "<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def root_tag(xml: str) -> str:
    try:
        return ET.fromstring(xml.encode("utf-8")).tag
    except ET.ParseError:
        return ""


def _plugin_name(value: str) -> str:
    # Jenkins writes plugin="git@5.2.1"; what we send names the plugin only
    return value.split("@", 1)[0]


def _attribute(key: str, value: str | None) -> str | None:
    return _plugin_name(value) if key == "plugin" and value is not None else value


def _contains(actual: ET.Element, desired: ET.Element) -> bool:
    if actual.tag != desired.tag:
        return False
    if any(_attribute(k, actual.get(k)) != _attribute(k, v) for k, v in desired.attrib.items()):
        return False
    if len(desired) == 0:
        wanted = (desired.text or "").strip()
        # an empty element we send may come back filled with Jenkins' defaults
        return not wanted or (len(actual) == 0 and (actual.text or "").strip() == wanted)
    candidates = list(actual)
    position = 0
    for child in desired:
        for index in range(position, len(candidates)):
            if _contains(candidates[index], child):
                position = index + 1
                break
        else:
            return False
    return True


def same_config(actual_xml: str, desired_xml: str) -> bool:
    """True when the job's current config already holds everything mlopsgen sets.

    Whitespace, the XML declaration and plugin versions (plugin="git@5.2.1") are ignored, and so
    are elements Jenkins adds with their defaults when it saves a job: the server's config must
    contain each element we send, in order, with the same attributes and text.
    """
    try:
        actual = ET.fromstring(actual_xml.encode("utf-8"))
    except ET.ParseError:
        return False
    return _contains(actual, ET.fromstring(desired_xml.encode("utf-8")))


def lint_errors(answer: str) -> str | None:
    """None when the declarative linter accepted the Jenkinsfile, else its message."""
    text = answer.strip()
    if text.startswith("Jenkinsfile successfully validated."):
        return None
    return text or "the Jenkins linter returned an empty answer"
